"""The Plan: a value describing what apply will do, and its JSON form (`format_version` 2).

Built by the planner, read by the renderers and the applier, saved by `plan --out` and
loaded by `apply --plan`. Format 2 adds what a saved plan needs to reach the same
workspace again (environment, target), its selection, the safety rules allowed and what
they allowed, preserved drafts, the promotion gate (`held_by` only on the checks of CAs
the source's own manifests hold back), the test users' value diffs
(`actions[].values`, only where computed; `fails_test` on those whose test fails,
`fixes_test` on those whose test the change makes pass), the
active-CA budget (summary `active_after` / `active_limit`) and the seed file of `--seeds`
with a `seed` action per CA (`users` only on those). Loading is strict; a format 1 file
(which has none of those) is still read. Every id read from a file must be a positive
64-bit integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo

from reconciler.errors import ReconcilerError, format_path, place

#: Ids are 64-bit integers in the API; anything else in a plan file is damage or forgery.
MAX_ID = 2**63 - 1
#: The validation context of a plan read from a file: its ids are range-checked.
FROM_FILE = {"from_file": True}


def _from_file(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get("from_file"))


def _id(value: int, info: ValidationInfo) -> int:
    if _from_file(info) and not 0 < value <= MAX_ID:
        raise ValueError(f"{value} is not an id (a positive 64-bit integer)")
    return value


def _live_key(value: str, info: ValidationInfo) -> str:
    if _from_file(info) and not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID):
        raise ValueError(f"{value!r} is not an id (a positive 64-bit integer)")
    return value


def _path(value: str) -> str:
    if "\0" in value:  # no file system takes one: os calls raise ValueError, not OSError
        raise ValueError("a path cannot hold a NUL character")
    return value


Id = Annotated[int, AfterValidator(_id)]
LiveKey = Annotated[str, AfterValidator(_live_key)]
#: A file or folder the plan names (its workspace's, its seed file).
PathText = Annotated[str, AfterValidator(_path)]

ActionKind = Literal["create", "update", "discard_draft", "activate", "delete", "seed"]


@dataclass(frozen=True)
class Kind:
    """How one kind of action reads everywhere: its JSON name, the verb and symbol of the
    text and Markdown plans, its colour, and its phrase in the summary line. A kind that
    is not `always` counted shows in the summary only when the plan has some."""

    name: ActionKind
    verb: str
    symbol: str
    style: str
    counted: str
    always: bool = True


#: The action kinds in the order of the summary line. Per CA the plan orders them create,
#: update, discard draft, seed, activate (a seed follows the activation only where the
#: seeds cannot match the draft: see `plan.seeds`).
KINDS: dict[ActionKind, Kind] = {
    kind.name: kind
    for kind in (
        Kind("create", "create", "+", "green", "to create"),
        Kind("update", "update", "~", "yellow", "to update"),
        Kind("discard_draft", "discard draft", "-", "magenta", "drafts to discard"),
        Kind("activate", "activate", "!", "cyan", "to activate"),
        Kind("delete", "delete", "x", "red", "to delete"),
        Kind("seed", "seed", "»", "blue", "to seed", always=False),
    )
}
ACTION_KINDS: tuple[ActionKind, ...] = tuple(KINDS)


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Change(_Value):
    """One field that differs: `definition.calculation_type: sum -> count`."""

    path: str
    before: Any = None
    after: Any = None


class FailedTest(_Value):
    """What a test user's test file expects of a CA that the "after" value is not: the
    expected value as mParticle would store it, and the line of the expectation."""

    expected: str
    line: int | None = None


class FixedTest(FailedTest):
    """What a test user's test file expects of a CA that the "before" value is not and the
    "after" value is: the test the change makes pass (same members as `FailedTest`)."""


class ValueDiff(_Value):
    """One test user's value of a CA before -> after the change (`plan.values`): strings as
    mParticle stores them, `-` for no value. `file` is the test file, relative to the
    manifest directory. `fails_test`: where the "after" value fails that file's expectation
    (`reconciler test` would fail on it), what was expected; None (and absent from the
    JSON) where it holds. `fixes_test`: where the "before" value (of a definition the CA
    has now) fails that expectation and the "after" value holds it; None (and absent)
    elsewhere."""

    user: str
    file: str
    before: str
    after: str
    fails_test: FailedTest | None = None
    fixes_test: FixedTest | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def failing(self) -> bool:
        return self.fails_test is not None

    @property
    def fixing(self) -> bool:
        return self.fixes_test is not None


class Action(_Value):
    """One API call the applier will make for one CA (a `seed` action: the users of the
    plan's seed file who seed it, sent through the Seeding API; its body names the
    calculation type and cutoff date the seeds carry)."""

    action: ActionKind
    name: str
    id: Id | None = None
    changes: list[Change] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    body: dict[str, Any] = Field(default_factory=dict)
    #: The test users' values before -> after, on the action that carries a CA's definition
    #: change; None (and absent from the JSON) where none were computed.
    values: list[ValueDiff] | None = None
    #: `seed` actions only: how many users of the seed file seed this CA (absent from the
    #: JSON on the other actions).
    users: int | None = Field(default=None, ge=0)

    @property
    def kind(self) -> Kind:
        return KINDS[self.action]

    @property
    def renames(self) -> bool:
        """An update that changes the name of an existing CA."""
        return self.action == "update" and any(
            change.path == "name" and change.before is not None for change in self.changes
        )


class Summary(_Value):
    """Actions by kind, and the CAs left alone."""

    create: int = 0
    update: int = 0
    discard_draft: int = 0
    activate: int = 0
    delete: int = 0
    seed: int = 0
    unchanged: int = 0
    unmanaged: int = 0
    #: Active CAs in the workspace once the plan has run (every live one the list shows,
    #: scope notwithstanding), and the account's limit; None where unknown.
    active_after: int | None = Field(default=None, ge=0)
    active_limit: int | None = Field(default=None, ge=1)

    def of(self, kind: ActionKind) -> int:
        count: int = getattr(self, kind)
        return count


class Target(_Value):
    """Where the plan's workspace lives: the real API (`api_url`), or the embedded
    emulator's database beside the manifests (`database`). `directory` is the manifest
    directory the plan was made from, so that `apply --plan` needs no DIR."""

    kind: Literal["embedded", "mparticle"]
    api_url: str | None = None
    database: PathText | None = None
    directory: PathText | None = None


class Selection(_Value):
    """`--only` / `--exclude` globs, and how many CAs they left out of the plan."""

    only: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    not_selected: int = Field(default=0, ge=0)

    @property
    def active(self) -> bool:
        return bool(self.only or self.exclude)


class Violation(_Value):
    """A safety rule the plan breaks, by name (`threshold`, `promotion`, ...)."""

    rule: str
    message: str


class DraftNote(_Value):
    """A draft made outside Git (`drafts: preserve`): kept, or replaced by this plan (which
    rule `drafts` refuses unless allowed)."""

    name: str
    id: Id
    kept: bool


class Written(_Value):
    """Where a manifest writes a field: `file:line:column` and the field's path in its CA's
    entry (`environments`, `overrides.staging.active`)."""

    file: PathText
    line: int | None = Field(default=None, ge=1)
    column: int | None = Field(default=None, ge=1)
    field: str

    @property
    def where(self) -> str:
        """`file:line:column`, as far as known."""
        return place(self.file, self.line, self.column)


class GateCheck(_Value):
    """One CA the promotion gate looked at: is its definition active in the source?"""

    name: str
    promoted: bool
    reason: str
    #: Fingerprint of the definition the source must hold active (None when it has none).
    definition: str | None = None
    #: The manifest field that keeps the CA from running in the source (the `environments:`
    #: leaving it out, the `active: false` there), for a CA the source's own manifests hold
    #: back; None otherwise, and in a plan made before it was recorded (absent from the JSON).
    held_by: Written | None = None


class Promotion(_Value):
    """The promotion gate (`promote_from`): what was checked in which environment."""

    source: str
    checks: list[GateCheck] = Field(default_factory=list)


Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]


class SeedSource(_Value):
    """The seed file of a plan made with `--seeds`: `apply` sends exactly this file, and
    `apply --plan` refuses it once its content differs (sha256)."""

    path: PathText
    sha256: Sha256
    format: Literal["jsonl", "csv"]
    #: Valid users in the file (each seeds one or more CAs).
    users: int = Field(ge=0)


class Plan(_Value):
    """What apply will do, in order, plus what it saw (fingerprints) to detect staleness."""

    format_version: Literal[2] = 2
    #: The environment's name; None for the unnamed one (a file without environments).
    environment: str | None = None
    workspace_id: Id
    target: Target | None = None
    selection: Selection = Field(default_factory=Selection)
    #: Safety rules allowed for this plan (`--allow`, or all of them with `--force`).
    allowed: list[str] = Field(default_factory=list)
    #: What the allowed rules let through: a reviewer must see each of these.
    overridden: list[Violation] = Field(default_factory=list)
    summary: Summary
    actions: list[Action]
    unmanaged: list[str] = Field(default_factory=list)
    drafts: list[DraftNote] = Field(default_factory=list)
    promotion: Promotion | None = None
    seeds: SeedSource | None = None
    live: dict[LiveKey, str] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.actions

    @property
    def left_alone(self) -> list[str]:
        """The unmanaged CAs this plan leaves in place: with prune, those it deletes are
        listed once, as deletes, not again as unmanaged. (The planner lists only those in
        `unmanaged`; a plan saved by an earlier version may list the deleted ones too.)"""
        deleted = {action.name for action in self.actions if action.action == "delete"}
        return [name for name in self.unmanaged if name not in deleted]

    def document(self) -> dict[str, Any]:
        """The JSON plan as plain data. `values` appears only on the actions that have value
        diffs, so a plan made without test files reads exactly as before they existed,
        `fails_test` and `fixes_test` only on the value diffs whose test the change fails or
        fixes, `users` only on seed actions,
        and `held_by` only on the gate's checks that have one. (A custom serializer made
        dumping 10,000 actions 1.8x slower; dropping the keys here costs nothing
        measurable.)"""
        data: dict[str, Any] = self.model_dump(mode="json")
        for action in data["actions"]:
            if action["values"] is None:
                del action["values"]
            else:
                for diff in action["values"]:
                    for mark in ("fails_test", "fixes_test"):
                        if diff[mark] is None:
                            del diff[mark]
            if action["users"] is None:
                del action["users"]
        for check in data["promotion"]["checks"] if data["promotion"] else ():
            if check["held_by"] is None:
                del check["held_by"]
        return data

    def to_json(self) -> bytes:
        return orjson.dumps(self.document(), option=orjson.OPT_INDENT_2) + b"\n"

    def save(self, path: Path) -> None:
        """Write the plan file (`plan --out`) whole, or raise a user error naming it."""
        from reconciler.files import write_atomically

        write_atomically(path, self.to_json(), "--out")

    @classmethod
    def load(cls, path: Path) -> Plan:
        """A saved plan of format 2, or of format 1 (read as format 2 without the fields
        format 1 lacks)."""
        try:
            raw = path.read_bytes()
        except IsADirectoryError:
            raise ReconcilerError(_a_folder(path)) from None
        except OSError as exc:
            raise ReconcilerError(f"cannot read plan {path}: {exc.strerror}") from None
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ReconcilerError(f"{path} is not a reconciler plan (not JSON: {exc})") from None
        version = document.get("format_version") if isinstance(document, dict) else None
        if isinstance(version, bool) or not isinstance(version, (int, float)):
            version = None  # `true` is no version (though Python's True == 1), nor is "2"
        elif isinstance(version, float) and version.is_integer():
            version = int(version)  # JSON's 2.0 is 2
        if version is not None and version > 2:
            # A plan of a newer reconciler: not damage, and not to be read as format 2.
            raise ReconcilerError(
                f"{path} was written in plan format {version} by a newer reconciler, and this "
                "one reads formats 1 and 2: show and apply it with the version that made it, "
                "or make a new plan with this one"
            )
        if isinstance(document, dict) and "refused" in document:
            raise _refused_plan(path, document["refused"])
        if isinstance(document, dict) and version is None and "environments" in document:
            raise _every_environment(path, document["environments"])
        model: type[Plan | PlanV1] = PlanV1 if version == 1 else cls
        try:
            loaded = model.model_validate(document, context=FROM_FILE)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = format_path([p for p in first["loc"] if p != "[key]"]) or "(top)"
            known = version if version in (1, 2) else "1 or 2"
            message = str(first["msg"]).removeprefix("Value error, ")
            if version is None and first["loc"] == ("format_version",):
                message = "Input should be 1 or 2"  # not only format 2's
            raise ReconcilerError(
                f"{path} is not a reconciler plan (format_version {known}): {where}: {message}"
            ) from None
        return loaded.upgraded() if isinstance(loaded, PlanV1) else loaded


def _every_environment(path: Path, plans: object) -> ReconcilerError:
    """The plans of `plan --env all --format json` saved from stdout: read as damage, it
    was "workspace_id: Field required"."""
    names = ", ".join(str(name) for name in plans) if isinstance(plans, dict) else ""
    return ReconcilerError(
        f"{path} holds the plans of every environment{f' ({names})' if names else ''}, as "
        "`plan --env all --format json` prints them; a saved plan is one environment's: save "
        "them with `plan --env all --out DIR` (a file per environment) and name one, "
        "DIR/<environment>.json"
    )


def _refused_plan(path: Path, refused: object) -> ReconcilerError:
    """A plan as a refused `plan --format json` prints it (with `refused`), saved from
    stdout: read as damage, it was "refused: Extra inputs are not permitted"."""
    entries = refused if isinstance(refused, list) else []
    rules = [e["rule"] for e in entries if isinstance(e, dict) and isinstance(e.get("rule"), str)]
    named = f"safety rules refused ({', '.join(rules)})" if rules else "a safety rule refused"
    return ReconcilerError(
        f"{path} is a plan {named}, as a refused `plan --format json` prints it (its "
        "`refused` member), and a refused plan is never applied: make the plan again with "
        "`plan --out FILE`, passing --allow for each rule you mean to override"
    )


class PlanV1(_Value):
    """A saved plan of format 1 (before environments): read, never written (so built only
    when one is read)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    format_version: Literal[1]
    workspace_id: Id
    summary: Summary
    actions: list[Action]
    unmanaged: list[str] = Field(default_factory=list)
    live: dict[LiveKey, str] = Field(default_factory=dict)

    def upgraded(self) -> Plan:
        return Plan(
            workspace_id=self.workspace_id,
            summary=self.summary,
            actions=self.actions,
            unmanaged=self.unmanaged,
            live=self.live,
        )


def summarize(actions: list[Action], unchanged: int, unmanaged: int) -> Summary:
    counts = dict.fromkeys(ACTION_KINDS, 0)
    for action in actions:
        counts[action.action] += 1
    return Summary(**counts, unchanged=unchanged, unmanaged=unmanaged)


def _a_folder(path: Path) -> str:
    """A folder named as a plan: where `plan --env all --out DIR` put one plan per
    environment, the plans to name instead."""
    try:
        plans = sorted(entry.name for entry in path.iterdir() if entry.suffix == ".json")
    except OSError:
        plans = []
    said = f"cannot read plan {path}: it is a directory"
    if not plans:
        return said
    shown = ", ".join(str(path / name) for name in plans[:3]) + (", …" if len(plans) > 3 else "")
    return (
        f"{said} (`plan --env all --out` writes one plan per environment into one): name a "
        f"plan in it, {shown}"
    )
