"""Seeding, step 2: check one user against the manifests and the seeding page's format table.

Gives the user as it will be sent (calculation type and cutoff date filled from the
manifests, spelled `min`/`max` and `cutoff_date`) or every problem with its field path.
"""

from __future__ import annotations

from reconciler.errors import DataPath, quoted
from reconciler.manifest.diagnostics import suggest
from reconciler.models import Problem
from reconciler.models.values import parse_instant
from reconciler.models.vocabulary import (
    CALCULATION_TYPE_SYNONYMS,
    CALCULATION_TYPES,
    IDENTITY_TYPES,
)
from reconciler.seeding.attributes import attributes_list
from reconciler.seeding.catalogue import Catalogue, SeedTarget
from reconciler.seeding.shapes import (
    SEED_FIELD,
    Json,
    as_integer,
    check_seed,
    show,
    unknown,
)

USER_KEYS = ("environment", "mpid", "identities", "calculated_attributes", "user_attributes")
ENTRY_KEYS = ("attribute_name", "calculation_type", "cutoff_date", "cuttoff_date", "seed")
_USER_KEYS = frozenset(USER_KEYS)
_ENTRY_KEYS = frozenset(ENTRY_KEYS)
ENVIRONMENTS = ("development", "production")
_INT64 = 2**63
_WORKSPACE = ("calculated_attributes", "workspace")


#: A user who cannot be found, in a JSON line's words; a CSV says it in its own columns
#: (CsvLayout.no_identity), having no `identities`.
NO_IDENTITY = Problem(("mpid",), "needs `mpid` or a non-empty `identities` to find the user")

#: Calculations that collect the first 100 distinct values only (the reference page).
COLLECTS_FIRST_100 = frozenset({"unique_list", "most_frequent"})


def _distinct(seed: object) -> int:
    """How many distinct values a valid list or most-frequent seed holds."""
    assert isinstance(seed, dict)
    values = seed.get("list", seed.get("key_value_pairs"))
    if isinstance(values, dict):
        return len(values)
    return len(set(values)) if isinstance(values, list) else 0


class UserValidator:
    """Checks users one at a time; remembers which CAs the file seeds (for warnings)."""

    def __init__(self, catalogue: Catalogue, environment: str | None = None) -> None:
        self.catalogue = catalogue
        self.environment = environment
        self.used: set[str] = set()
        #: CA name -> users seeding it more values than mParticle keeps (the first 100).
        self.overfull: dict[str, int] = {}
        #: The problem of a user seeding a CA that can take no seeds at all (its manifest
        #: has no cutoff) -> that CA: the same for every user, so a caller can say it once
        #: per CA, not once per user.
        self.refusals: dict[str, str] = {}

    def check(
        self, raw: object, no_identity: Problem = NO_IDENTITY
    ) -> tuple[Json | None, list[Problem]]:
        """The user to send, or None and every problem found (`no_identity` for a user
        with neither mpid nor identities). None and no problem: a valid user with nothing
        to send (no seed, no user attribute: a CSV row whose cells are all empty), which is
        not an error."""
        if not isinstance(raw, dict):
            return None, [
                Problem(
                    (),
                    "each line must be a JSON object: one user in the body shape of "
                    "POST /v2/calculatedattributes",
                )
            ]
        problems: list[Problem] = []
        if not _USER_KEYS.issuperset(raw):
            problems += [
                unknown((key,), str(key), USER_KEYS, "field")
                for key in raw
                if key not in _USER_KEYS
            ]
        user: Json = {"environment": self._environment(raw.get("environment"), problems)}
        mpid = self._mpid(raw.get("mpid"), problems)
        if mpid is not None:
            user["mpid"] = mpid
        identities = self._identities(raw.get("identities"), problems)
        if identities:
            user["identities"] = identities
        if mpid is None and not identities and not any(p.path[:1] == ("mpid",) for p in problems):
            problems.append(no_identity)
        seeds = self._seeds(raw.get("calculated_attributes"), problems)
        user["calculated_attributes"] = {"workspace": seeds}
        attributes = attributes_list(raw.get("user_attributes"), problems)
        if attributes is not None:
            user["user_attributes"] = {"workspace": attributes}
        if problems or (not seeds and not attributes):
            return None, problems
        return user, []

    def _environment(self, value: object, problems: list[Problem]) -> str | None:
        path: DataPath = ("environment",)
        if value is None:
            if self.environment is None:
                problems.append(
                    Problem(
                        path,
                        "required: development or production (per user, or --environment)",
                    )
                )
            return self.environment
        if not isinstance(value, str) or value not in ENVIRONMENTS:
            hint = suggest(value, ENVIRONMENTS) if isinstance(value, str) else None
            advice = f"; did you mean `{hint}`?" if hint else ""
            problems.append(
                Problem(path, f"must be development or production, not {show(value)}{advice}")
            )
            return None
        if self.environment is not None and value != self.environment:
            problems.append(
                Problem(
                    path,
                    f"is {value} but --environment {self.environment} was given: a seed file "
                    "is never redirected silently; fix the file or the flag",
                )
            )
        return value

    @staticmethod
    def _mpid(value: object, problems: list[Problem]) -> int | None:
        if value is None:
            return None
        number = as_integer(value)
        if number is None:
            problems.append(
                Problem(("mpid",), f"must be an integer (the user's MPID), not {show(value)}")
            )
            return None
        if not -_INT64 <= number < _INT64:
            problems.append(Problem(("mpid",), f"{number} is out of range for a 64-bit MPID"))
            return None
        return number

    @staticmethod
    def _identities(value: object, problems: list[Problem]) -> Json | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            problems.append(
                Problem(("identities",), "must be a mapping of identity type to identity")
            )
            return None
        identities: Json = {}
        for kind, identity in value.items():
            path: DataPath = ("identities", kind)
            if kind not in IDENTITY_TYPES:
                problems.append(unknown(path, kind, sorted(IDENTITY_TYPES), "identity type"))
            elif not isinstance(identity, str):
                problems.append(Problem(path, f"must be a string, not {show(identity)}"))
            elif not identity.strip():
                problems.append(Problem(path, "is empty: remove it or give the identity"))
            else:
                identities[kind] = identity
        return identities

    def _seeds(self, value: object, problems: list[Problem]) -> list[Json]:
        if value is None:
            return []
        if not isinstance(value, dict):
            problems.append(
                Problem(("calculated_attributes",), "must be a mapping with a `workspace` list")
            )
            return []
        for key in value:
            if key != "workspace":
                problems.append(
                    unknown(("calculated_attributes", key), str(key), ["workspace"], "field")
                )
        entries = value.get("workspace")
        if not isinstance(entries, list):
            problems.append(Problem(_WORKSPACE, "must be a list of CA seeds"))
            return []
        seeds: list[Json] = []
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            seed = self._entry(index, entry, seen, problems)
            if seed is not None:
                seeds.append(seed)
        return seeds

    def _entry(
        self, index: int, entry: object, seen: dict[str, int], problems: list[Problem]
    ) -> Json | None:
        base: DataPath = (*_WORKSPACE, index)
        if not isinstance(entry, dict):
            problems.append(Problem(base, "must be a mapping with attribute_name and seed"))
            return None
        if not _ENTRY_KEYS.issuperset(entry):
            problems += [
                unknown((*base, key), str(key), ENTRY_KEYS, "field")
                for key in entry
                if key not in _ENTRY_KEYS
            ]
        name = entry.get("attribute_name")
        if not isinstance(name, str) or not name:
            problems.append(
                Problem((*base, "attribute_name"), "required: the name of the CA to seed")
            )
            return None
        if name in seen:
            problems.append(
                Problem(
                    (*base, "attribute_name"),
                    f"{quoted(name)}: seeded twice for this user (also workspace[{seen[name]}])",
                )
            )
            return None
        seen[name] = index
        target = self.catalogue.get(name)
        if target is None:
            hint = self.catalogue.suggest(name)
            advice = f"; did you mean {quoted(hint)}?" if hint else ""
            problems.append(
                Problem(
                    (*base, "attribute_name"),
                    f"{quoted(name)}: no CA of this name in the manifests{advice}",
                )
            )
            return None
        reason = target.unseedable
        if reason is not None:
            message = f"CA {quoted(name)} can take no seeds: {reason}"
            self.refusals.setdefault(message, name)
            problems.append(Problem((*base, "attribute_name"), message))
            # The seed itself is still checked: its problems are the row's own.
            check_seed(
                quoted(name), target.calculation_type, entry.get("seed"), (*base, "seed"), problems
            )
            return None
        self.used.add(name)
        before = len(problems)
        sent = entry.get("calculation_type")
        if sent is not None and sent != target.calculation_type:
            self._calculation_type(base, sent, target, problems)
        cutoff = self._cutoff(base, entry, target, problems)
        seed = entry.get("seed")
        check_seed(quoted(name), target.calculation_type, seed, (*base, "seed"), problems)
        if len(problems) > before:
            return None
        if target.calculation_type in COLLECTS_FIRST_100 and _distinct(seed) > 100:
            self.overfull[name] = self.overfull.get(name, 0) + 1
        return {
            "attribute_name": name,
            "calculation_type": target.calculation_type,
            "cutoff_date": cutoff,
            "seed": seed,
        }

    @staticmethod
    def _calculation_type(
        base: DataPath, sent: object, target: SeedTarget, problems: list[Problem]
    ) -> None:
        if sent is None:
            return
        path = (*base, "calculation_type")
        name = quoted(target.name)
        canonical = CALCULATION_TYPE_SYNONYMS.get(sent, sent) if isinstance(sent, str) else None
        if canonical not in SEED_FIELD:
            choices = [*CALCULATION_TYPES, *CALCULATION_TYPE_SYNONYMS]
            hint = suggest(sent, choices) if isinstance(sent, str) else None
            advice = f"; did you mean `{hint}`?" if hint else ""
            problems.append(Problem(path, f"{name}: unknown calculation type {show(sent)}{advice}"))
        elif canonical != target.calculation_type:
            problems.append(
                Problem(
                    path,
                    f"{name}: calculation_type is {sent} but the manifest ({target.where}) "
                    f"says {target.calculation_type}",
                )
            )

    @staticmethod
    def _cutoff(
        base: DataPath, entry: Json, target: SeedTarget, problems: list[Problem]
    ) -> str | None:
        if "cuttoff_date" not in entry:
            # A CA without a cutoff never gets here (`unseedable`): the manifest's is the one.
            sent = entry.get("cutoff_date")
            if sent is None or sent == target.cutoff_text:
                return target.cutoff_text  # the common case: none given, or spelled right
        name = quoted(target.name)
        given = _given_cutoffs(base, entry, name, problems)
        if given is None:
            return None
        if given and given[0][1] != target.cutoff_text:
            key, sent = given[0]
            problems.append(
                Problem(
                    (*base, key),
                    f"{name}: cutoff date is {sent} but the manifest ({target.where}) says "
                    f"{target.cutoff_text}; seeds for another cutoff are refused",
                )
            )
            return None
        return target.cutoff_text


def _given_cutoffs(
    base: DataPath, entry: Json, name: str, problems: list[Problem]
) -> list[tuple[str, str]] | None:
    """The cutoff dates a seed entry gives, by key (both spellings the API reads), as
    `yyyy-MM-dd`; None (reported) when one is no date or the two disagree. `name` is the
    CA as messages name it (`errors.quoted`)."""
    given: list[tuple[str, str]] = []
    for key in ("cutoff_date", "cuttoff_date"):
        value = entry.get(key)
        if value is None:
            continue
        try:
            moment = parse_instant(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.time() != moment.min.time():
            message = f"{name}: cutoff date must be a date (yyyy-MM-dd), not {show(value)}"
            problems.append(Problem((*base, key), message))
            return None
        given.append((key, moment.date().isoformat()))
    if len(given) == 2 and given[0][1] != given[1][1]:
        message = f"{name}: cutoff_date {given[0][1]} and cuttoff_date {given[1][1]} disagree"
        problems.append(Problem((*base, "cuttoff_date"), message))
        return None
    return given
