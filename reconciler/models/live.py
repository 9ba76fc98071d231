"""Live state: a CA as the Platform API returns it. Tolerant: unknown fields are ignored,
missing ones are None, and both spellings of the data point key are read.

`LiveCA.active` and `LiveCA.draft` reduce its definitions to the same form as a manifest
definition (models.canonical). The definitions are kept as the API sent them and read only
when asked for: in a large workspace most CAs equal their manifests, and
`LiveCA.recognise` shows that with one comparison instead of a reading.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

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
        return canonical_definition(self)


class LiveCA(_Live):
    """One CA of the list or single GET."""

    id: int
    name: str
    description: str | None = None
    # As the API sent them (JSON objects); `active` and `draft` read them.
    active_definition: dict[str, Any] | None = None
    draft_definition: dict[str, Any] | None = None
    audience_count: int | None = None
    activated_on: str | None = None
    # Also sent, and not read (each field read costs at 10,000 CAs): activated_by,
    # created_on, created_by, last_modified_on, last_modified_by.

    @property
    def was_activated(self) -> bool:
        """Names are read-only once a CA has been activated (even if later edited)."""
        return self.active_definition is not None or bool(self.activated_on)

    def _read(self, which: str, raw: dict[str, Any] | None) -> CanonicalDefinition | None:
        if raw is None:
            return None
        try:
            return LiveDefinition.model_validate(raw).canonical
        except ValidationError as exc:
            raise ApiError(
                f'"{self.name}" (id {self.id}): its {which} definition could not be read '
                f"from the API's answer ({exc.error_count()} problem(s))"
            ) from None

    @cached_property
    def active(self) -> CanonicalDefinition | None:
        return self._read("active", self.active_definition)

    @cached_property
    def held_draft(self) -> CanonicalDefinition | None:
        """The draft definition as stored, even when it equals the active one."""
        return self._read("draft", self.draft_definition)

    @cached_property
    def draft(self) -> CanonicalDefinition | None:
        """The pending draft; a draft equal to the active definition counts as no draft."""
        draft = self.held_draft
        return None if draft is None or draft == self.active else draft

    def recognise(self, desired: CanonicalDefinition) -> None:
        """Take a definition the API returned as `desired`, up to the order of its lists,
        to be `desired` without reading it.

        A canonical form is its own canonical form, and order does not change a meaning
        (property tests hold both), so reading such a definition would only rebuild
        `desired`. The comparison is exact: same keys, same values of the same types.
        """
        for which, raw in (
            ("active", self.active_definition),
            ("held_draft", self.draft_definition),
        ):
            if raw is not None and which not in self.__dict__ and _means_exactly(raw, desired):
                self.__dict__[which] = desired

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
