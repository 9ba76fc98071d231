"""Desired state: the strict models of a CA as written in a manifest, with every documented rule.

Structure (types, enums, unknown keys) is checked by pydantic; the API's cross-field rules
are `problems()` that return every violation with its field path, so that a loader can
report them all at once. Building a model in code raises on the first model with problems.
Conditions live in `models.condition`, the shared base in `models.rules`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal, Protocol

from pydantic import AliasChoices, Field, StrictBool, StrictInt

from reconciler.models.canonical import CanonicalDefinition, canonical_definition
from reconciler.models.condition import Condition
from reconciler.models.rules import Instant, ManifestModel, Name, Problem, Text, prefixed
from reconciler.models.vocabulary import (
    CUSTOM_EVENT_TYPES_BY_EVENT,
    NEEDS_ATTRIBUTE,
    QUANTITY_CATEGORIES,
    AttributeCategory,
    CalculationType,
    DatapointType,
    EventType,
    TimePeriodType,
    WithinUnit,
)

__all__ = [
    "CalculatedAttribute",
    "Condition",
    "Datapoint",
    "Definition",
    "ManifestFile",
    "Problem",
    "Seeding",
    "TimePeriod",
]


class Datapoint(ManifestModel):
    """The event (and optionally its attribute) the calculation reads."""

    type: DatapointType = "event"
    event_name: Text | None = None
    event_type: EventType
    custom_event_type: str | None = None
    attribute_name: Text | None = None
    attribute_category: AttributeCategory | None = None
    use_product_quantity: StrictBool = False

    def local_problems(self) -> list[Problem]:
        found: list[Problem] = []
        if self.event_type == "custom_event" and not self.event_name:
            found.append(
                Problem(
                    ("event_name",),
                    "Invalid data point custom event name: `event_name` is required when "
                    "event_type is custom_event",
                )
            )
        allowed = CUSTOM_EVENT_TYPES_BY_EVENT.get(self.event_type)
        if self.custom_event_type is not None:
            if allowed is None:
                found.append(
                    Problem(
                        ("custom_event_type",),
                        "Invalid data point custom event type: custom_event_type is only allowed "
                        f"when event_type is custom_event or commerce_event, not {self.event_type}",
                    )
                )
            elif self.custom_event_type not in allowed:
                found.append(
                    Problem(
                        ("custom_event_type",),
                        f"Invalid data point custom event type: `{self.custom_event_type}` is not "
                        f"a {self.event_type} type; use one of {', '.join(allowed)}",
                    )
                )
        if self.type != "event" and not self.attribute_name:
            found.append(
                Problem(
                    ("attribute_name",),
                    f"datapoint type `{self.type}` targets an attribute: set `attribute_name`",
                )
            )
        if (
            self.attribute_name
            and self.use_product_quantity
            and self.attribute_category not in QUANTITY_CATEGORIES
        ):
            found.append(
                Problem(
                    ("use_product_quantity",),
                    "has no effect unless attribute_category is product_attribute or "
                    "promotion_attribute",
                    "warning",
                )
            )
        return found


class TimePeriod(ManifestModel):
    """The window the calculation covers: since a date, or within a rolling period."""

    type: TimePeriodType
    date: Instant | None = None
    within: StrictInt | None = None
    within_unit: WithinUnit | None = None

    def local_problems(self) -> list[Problem]:
        found: list[Problem] = []
        if self.type == "all":
            found.append(
                Problem(
                    ("type",),
                    "Field 'time_period.type' = 'all' is not supported: use `since` with a "
                    "`date`, or `within` with `within` and `within_unit`",
                )
            )
        elif self.type == "since":
            if self.date is None:
                found.append(
                    Problem(("date",), "Invalid time period specification: `since` needs `date`")
                )
            for field in ("within", "within_unit"):
                if getattr(self, field) is not None:
                    found.append(Problem((field,), "applies only to type `within`; remove it"))
        else:
            if self.within is None or self.within <= 0:
                found.append(
                    Problem(
                        ("within",),
                        "Invalid 'within' time period specification: must be a positive integer",
                    )
                )
            if self.within_unit is None:
                found.append(
                    Problem(
                        ("within_unit",),
                        "Invalid 'within_unit' time period specification: one of days, weeks",
                    )
                )
            if self.date is not None:
                found.append(Problem(("date",), "applies only to type `since`; remove it"))
        return found


class Seeding(ManifestModel):
    """Seeds cover the data before `cutoff_date`; mParticle calculates from it on."""

    cutoff_date: Instant


class Definition(ManifestModel):
    """What the CA calculates: datapoint, conditions, calculation type, time period, seeding."""

    recipe_type: Literal["event"] = "event"
    datapoint: Datapoint = Field(validation_alias=AliasChoices("datapoint", "data_point"))
    conditions: list[Condition] | None = None
    calculation_type: CalculationType
    time_period: TimePeriod
    seeding: Seeding | None = None

    def local_problems(self) -> list[Problem]:
        found: list[Problem] = []
        if self.calculation_type in NEEDS_ATTRIBUTE and not self.datapoint.attribute_name:
            found.append(
                Problem(
                    ("datapoint", "attribute_name"),
                    f"calculation_type `{self.calculation_type}` aggregates an attribute's value: "
                    "set datapoint.attribute_name",
                )
            )
        if self.seeding is not None and self.time_period.type == "within":
            found.append(
                Problem(
                    ("seeding",),
                    "rolling (`within`) time periods cannot be seeded; seeds will be refused",
                    "warning",
                )
            )
        return found

    def problems(self) -> list[Problem]:
        found = self.local_problems()
        found += prefixed(("datapoint",), self.datapoint.problems())
        for index, condition in enumerate(self.conditions or ()):
            found += prefixed(("conditions", index), condition.problems())
        found += prefixed(("time_period",), self.time_period.problems())
        return found

    @cached_property
    def canonical(self) -> CanonicalDefinition:
        return canonical_definition(self)


class CalculatedAttribute(ManifestModel):
    """One CA as a manifest declares it."""

    name: Name
    description: str | None = None
    active: StrictBool = True
    renamed_from: Name | None = None
    protect: StrictBool = False
    definition: Definition

    def local_problems(self) -> list[Problem]:
        if self.renamed_from == self.name:
            return [Problem(("renamed_from",), "equals `name`; remove renamed_from")]
        return []

    def problems(self) -> list[Problem]:
        return self.local_problems() + prefixed(("definition",), self.definition.problems())

    @property
    def canonical(self) -> CanonicalDefinition:
        return self.definition.canonical


class DeclaredCA(Protocol):
    """What planning reads of a desired CA: a CalculatedAttribute, or any record that
    holds the same facts (a loader may keep them without building the model)."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def active(self) -> bool: ...
    @property
    def renamed_from(self) -> str | None: ...
    @property
    def protect(self) -> bool: ...
    @property
    def canonical(self) -> CanonicalDefinition: ...


class ManifestFile(ManifestModel):
    """A `*.yaml` manifest file: a list of CAs."""

    calculated_attributes: list[CalculatedAttribute] = Field(default_factory=list)
