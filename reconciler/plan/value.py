"""The Plan: a value describing what apply will do, and its JSON form (`format_version` 1).

Built by the planner, read by the renderers and the applier, saved by `plan --out` and
loaded by `apply --plan`. Loading is strict: a file of another format is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.errors import ReconcilerError, format_path

ActionKind = Literal["create", "update", "discard_draft", "activate", "delete"]


@dataclass(frozen=True)
class Kind:
    """How one kind of action reads everywhere: its JSON name, the verb and symbol of the
    text and Markdown plans, its colour, and its phrase in the summary line."""

    name: ActionKind
    verb: str
    symbol: str
    style: str
    counted: str


#: The action kinds in plan order (per CA: create, update, discard draft, activate).
KINDS: dict[ActionKind, Kind] = {
    kind.name: kind
    for kind in (
        Kind("create", "create", "+", "green", "to create"),
        Kind("update", "update", "~", "yellow", "to update"),
        Kind("discard_draft", "discard draft", "-", "magenta", "drafts to discard"),
        Kind("activate", "activate", "!", "cyan", "to activate"),
        Kind("delete", "delete", "x", "red", "to delete"),
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


class Action(_Value):
    """One API call the applier will make for one CA."""

    action: ActionKind
    name: str
    id: int | None = None
    changes: list[Change] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    body: dict[str, Any] = Field(default_factory=dict)

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
    unchanged: int = 0
    unmanaged: int = 0

    def of(self, kind: ActionKind) -> int:
        count: int = getattr(self, kind)
        return count


class Plan(_Value):
    """What apply will do, in order, plus what it saw (fingerprints) to detect staleness."""

    format_version: Literal[1] = 1
    workspace_id: int
    summary: Summary
    actions: list[Action]
    unmanaged: list[str] = Field(default_factory=list)
    live: dict[str, str] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.actions

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_INDENT_2) + b"\n"

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(self.to_json())
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> Plan:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ReconcilerError(f"cannot read plan {path}: {exc.strerror}") from None
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = format_path(first["loc"]) or "(top)"
            raise ReconcilerError(
                f"{path} is not a reconciler plan (format_version 1): {where}: {first['msg']}"
            ) from None


def summarize(actions: list[Action], unchanged: int, unmanaged: int) -> Summary:
    counts = dict.fromkeys(ACTION_KINDS, 0)
    for action in actions:
        counts[action.action] += 1
    return Summary(**counts, unchanged=unchanged, unmanaged=unmanaged)
