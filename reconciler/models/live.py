"""Live state: a CA as the Platform API returns it. Tolerant: unknown fields are ignored,
missing ones are None, and both spellings of the data point key are read. Strict where it
matters: a definition whose fields have the wrong types fails the reading of the list.

`LiveCA.active` and `LiveCA.draft` reduce its definitions to the same form as a manifest
definition (models.canonical). In a large workspace most CAs equal their manifests:
`LiveCA.definitions_as(desired)` shows that with one comparison of what the API sent
instead of a reduction, and changes nothing in the model.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from reconciler.errors import ApiError
from reconciler.models.canonical import (
    NON_TEXT_LEAVES,
    CanonicalCondition,
    CanonicalDefinition,
    canonical_definition,
    fingerprint,
)


def _same_condition(raw: object, want: CanonicalCondition) -> bool:
    """Whether a raw condition is `want`, up to the order of its in_list values. A canonical
    condition holds only text and null, which Python compares exactly."""
    if not isinstance(raw, dict) or raw.keys() != want.keys():
        return False
    for key, value in want.items():
        have = raw[key]
        if have == value:
            continue
        if key != "values" or not isinstance(value, list) or not isinstance(have, list):
            return False
        # `want` holds no value twice: the same length and the same set is a permutation.
        try:
            if len(have) != len(value) or set(have) != set(value):
                return False
        except TypeError:  # an unhashable value
            return False
    return True


def _means_exactly(raw: dict[str, Any], want: CanonicalDefinition) -> bool:
    """Whether a raw definition is the canonical form `want`, up to the order of its
    conditions and in_list values (which the canonical form sorts)."""
    wanted = want["conditions"]
    if {**raw, "conditions": wanted} != want:
        return False
    # Python takes 1.0 and true for 1: the leaves that are not text must have its type.
    for outer, inner in NON_TEXT_LEAVES:
        part: Any = want[outer]  # type: ignore[literal-required]
        if part is not None and type(raw[outer][inner]) is not type(part[inner]):
            return False
    conditions = raw["conditions"]
    if conditions == wanted:
        return True
    if not isinstance(conditions, list) or len(conditions) != len(wanted):
        return False
    unmatched: list[CanonicalCondition] = list(wanted)
    for condition in conditions:
        if condition in unmatched:
            unmatched.remove(condition)
            continue
        for index, candidate in enumerate(unmatched):
            if _same_condition(condition, candidate):
                del unmatched[index]
                break
        else:
            return False
    return True


class _Live(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class LiveCondition(_Live):
    type: str | None = None
    operator: str | None = None
    attribute_name: str | None = None
    value: Any = None
    values: list[Any] | None = None
    min_value: Any = None
    max_value: Any = None


class LiveDatapoint(_Live):
    type: str | None = None
    event_name: str | None = None
    event_type: str | None = None
    custom_event_type: str | None = None
    attribute_name: str | None = None
    attribute_category: str | None = None
    use_product_quantity: bool | None = None


class LiveTimePeriod(_Live):
    type: str | None = None
    date: Any = None
    within: Any = None
    within_unit: str | None = None


class LiveSeeding(_Live):
    cutoff_date: Any = None


class LiveDefinition(_Live):
    """A definition as the API returned it: read (types checked) when the CA is read, and
    reduced to its canonical form only when asked for."""

    recipe_type: str | None = None
    datapoint: LiveDatapoint | None = Field(
        default=None, validation_alias=AliasChoices("datapoint", "data_point")
    )
    conditions: list[LiveCondition] | None = None
    calculation_type: str | None = None
    time_period: LiveTimePeriod | None = None
    seeding: LiveSeeding | None = None

    @cached_property
    def canonical(self) -> CanonicalDefinition:
        """What the definition means (a memo: a pure function of the fields above)."""
        return canonical_definition(self)


def _meaning(
    read: LiveDefinition | None, sent: dict[str, Any] | None, desired: CanonicalDefinition
) -> CanonicalDefinition | None:
    """`desired` itself when the API sent exactly that canonical form (up to the order of
    its lists), without reducing the definition; otherwise its canonical form.

    A canonical form is its own canonical form, and order does not change a meaning
    (property tests hold both), so reducing such a definition would only rebuild
    `desired`. The comparison is exact: same keys, same values of the same types.
    """
    if read is None:
        return None
    if sent is not None and _means_exactly(sent, desired):
        return desired
    return read.canonical


class LiveCA(_Live):
    """One CA of the list or single GET. Its definitions are read with it: a definition
    the API garbled fails the reading of the list, naming the CA."""

    id: int
    name: str
    description: str | None = None
    active_definition: LiveDefinition | None = None
    draft_definition: LiveDefinition | None = None
    # The same two definitions as the API sent them, for `definitions_as` to compare.
    active_sent: dict[str, Any] | None = Field(
        default=None, validation_alias="active_definition", exclude=True, repr=False
    )
    draft_sent: dict[str, Any] | None = Field(
        default=None, validation_alias="draft_definition", exclude=True, repr=False
    )
    audience_count: int | None = None
    activated_on: str | None = None
    # Also sent, and not read (each field read costs at 10,000 CAs): activated_by,
    # created_on, created_by, last_modified_on, last_modified_by.

    @property
    def was_activated(self) -> bool:
        """Names are read-only once a CA has been activated (even if later edited)."""
        return self.active_definition is not None or bool(self.activated_on)

    @property
    def active(self) -> CanonicalDefinition | None:
        return None if self.active_definition is None else self.active_definition.canonical

    @property
    def held_draft(self) -> CanonicalDefinition | None:
        """The draft definition as stored, even when it equals the active one."""
        return None if self.draft_definition is None else self.draft_definition.canonical

    @property
    def draft(self) -> CanonicalDefinition | None:
        """The pending draft; a draft equal to the active definition counts as no draft."""
        draft = self.held_draft
        return None if draft is None or draft == self.active else draft

    def definitions_as(
        self, desired: CanonicalDefinition
    ) -> tuple[CanonicalDefinition | None, CanonicalDefinition | None]:
        """(active, pending draft) as `active` and `draft` give them, where a definition the
        API sent exactly as `desired` is `desired` itself, found by one comparison."""
        active = _meaning(self.active_definition, self.active_sent, desired)
        held = _meaning(self.draft_definition, self.draft_sent, desired)
        return active, None if held is None or held == active else held

    @property
    def description_text(self) -> str:
        return self.description or ""

    @cached_property
    def fingerprint(self) -> str:
        """Digest of everything a plan decides on: name, description, definitions, audiences."""
        return fingerprint(
            {
                "name": self.name,
                "description": self.description_text,
                "active": self.active,
                "draft": self.draft,
                "audience_count": self.audience_count or 0,
            }
        )


_LIVE_LIST = TypeAdapter(list[LiveCA])
_DEFINITIONS = {"active_definition": "active", "draft_definition": "draft"}


def read_live(data: Any, what: str = "the CA list") -> list[LiveCA]:
    """The CAs of a parsed API answer (a list of CA objects), definitions included.

    Raises ApiError naming every CA whose definition cannot be read, or saying that the
    answer is not a list of CAs at all.
    """
    try:
        return _LIVE_LIST.validate_python(data)
    except ValidationError as exc:
        raise ApiError(_unreadable(exc, data, what)) from None


def _unreadable(exc: ValidationError, data: Any, what: str) -> str:
    problems: dict[tuple[int, str], int] = {}
    other = 0
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if len(loc) > 1 and isinstance(loc[0], int) and loc[1] in _DEFINITIONS:
            key = (loc[0], str(loc[1]))
            problems[key] = problems.get(key, 0) + 1
        else:
            other += 1
    if other:
        return f"{what} could not be read: {exc.error_count()} problem(s)"
    named = []
    for (index, field), count in problems.items():
        item = data[index]
        named.append(
            f'"{item.get("name")}" (id {item.get("id")}): its {_DEFINITIONS[field]} definition '
            f"could not be read from the API's answer ({count} problem(s))"
        )
    return "; ".join(named)
