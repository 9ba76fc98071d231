"""Desired state: the strict models of a CA as written in a manifest, with every documented rule.

Structure (types, enums, unknown keys) is checked by pydantic; the API's cross-field rules
are `problems()` that return every violation with its field path, so that a loader can
report them all at once. Building a model in code raises on the first model with problems.
Conditions live in `models.condition`, the shared base in `models.rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal, Protocol

from pydantic import AliasChoices, Field, StrictBool, StrictInt, WithJsonSchema

from reconciler.errors import quoted
from reconciler.models.canonical import CanonicalDefinition, canonical_definition
from reconciler.models.condition import Condition
from reconciler.models.rules import (
    Instant,
    ManifestModel,
    Name,
    Problem,
    Text,
    long_name_problem,
    name_problems,
    prefixed,
)
from reconciler.models.vocabulary import (
    ANY_CUSTOM_EVENT_TYPE,
    COMMERCE_EVENT,
    CUSTOM_EVENT_TYPES_BY_EVENT,
    LEGACY_CUSTOM_EVENT_TYPES_BY_EVENT,
    LEGACY_EVENT_TYPES,
    NEEDS_ATTRIBUTE,
    PROMOTION_EVENT_TYPES,
    QUANTITY_CATEGORIES,
    UNKNOWN_CUSTOM_EVENT_TYPE,
    AnyEventType,
    AttributeCategory,
    CalculationType,
    DatapointType,
    TimePeriodType,
    WithinUnit,
)
from reconciler.settings import EnvironmentName

__all__ = [
    "CalculatedAttribute",
    "Condition",
    "Datapoint",
    "Definition",
    "ManifestFile",
    "Override",
    "Problem",
    "Seeding",
    "TimePeriod",
]


def _family(event_type: str) -> tuple[str, ...]:
    """The custom_event_type values `event_type` takes, old ones included."""
    return CUSTOM_EVENT_TYPES_BY_EVENT.get(event_type, ()) + LEGACY_CUSTOM_EVENT_TYPES_BY_EVENT.get(
        event_type, ()
    )


class Datapoint(ManifestModel):
    """The event (and optionally its attribute) the calculation reads."""

    type: DatapointType = "event"
    event_name: Text | None = None
    event_type: AnyEventType
    custom_event_type: (
        Annotated[str, WithJsonSchema({"type": "string", "enum": list(ANY_CUSTOM_EVENT_TYPE)})]
        | None
    ) = None
    attribute_name: Text | None = None
    attribute_category: AttributeCategory | None = None
    use_product_quantity: StrictBool = False

    @classmethod
    def write_instead(cls, field: str, written: Mapping[str, Any]) -> str | None:
        """The event type a `custom_event_type` of one family implies; for one not written
        at all, the event types to choose from (and what each needs)."""
        if field != "event_type":
            return None
        custom = written.get("custom_event_type")
        families = [event for event in CUSTOM_EVENT_TYPES_BY_EVENT if custom in _family(event)]
        if len(families) == 1:
            return f"`{custom}` is a {families[0]} type: write `event_type: {families[0]}`"
        if field in written:
            return None  # not valid: its own choices say the rest
        name = written.get("event_name")
        if isinstance(name, str) and name.strip():
            return (
                f"write the type of the event {quoted(name)}: `event_type: custom_event` for an "
                "app event, else its Events API type (commerce_event with a custom_event_type, "
                "screen_view for a screen's name, ...)"
            )
        return (
            "write the type of the event it reads: `event_type: custom_event` with the app "
            "event's `event_name`, `commerce_event` with a `custom_event_type` (purchase, "
            "add_to_cart, ...), or another Events API type (session_start, screen_view, ...)"
        )

    @staticmethod
    def shape(calculation_type: object = None) -> str:
        """What to write for a data point not written at all: the fields it needs (its
        required event_type, the event_name a custom_event needs, the attribute a
        calculation type that aggregates one needs), with the other event types' way."""
        fields = "event_type: custom_event, event_name: <the app event's name>"
        needs = ""
        if isinstance(calculation_type, str) and calculation_type in NEEDS_ATTRIBUTE:
            fields += ", attribute_name: <the attribute>"
            needs = f" (calculation_type `{calculation_type}` aggregates an attribute's value)"
        return (
            f"write the event it reads: `datapoint: {{{fields}}}`{needs}, or another event's "
            "Events API event_type (commerce_event with a `custom_event_type` such as "
            "purchase, session_start, screen_view, ...)"
        )

    def local_problems(self) -> list[Problem]:
        # A field may be None here when the data point is checked partly (manifest.partial):
        # a rule over a field that is not valid (or a required one not written) says nothing.
        found: list[Problem] = []
        if self.event_type == "custom_event" and not self.event_name:
            found.append(
                Problem(
                    ("event_name",),
                    "Invalid data point custom event name: `event_name` is required when "
                    "event_type is custom_event",
                )
            )
        found += self._legacy_values()
        found += long_name_problem("event_name", self.event_name, "event names")
        what = "user attribute names" if self.type == "user_attribute" else "attribute names"
        found += long_name_problem("attribute_name", self.attribute_name, what)
        found += self._custom_event_type()
        if self.type is not None and self.type != "event":
            found.append(
                Problem(
                    ("type",),
                    f"datapoint type `{self.type}` is documented, but the API currently "
                    "supports only event: mParticle may refuse it or ignore the attribute",
                    "warning",
                )
            )
            if not self.attribute_name:
                found.append(
                    Problem(
                        ("attribute_name",),
                        f"datapoint type `{self.type}` targets an attribute: set `attribute_name`",
                    )
                )
        found += self._items_of_another_event()
        found += self._without_effect()
        return found

    def _without_effect(self) -> list[Problem]:
        """Warnings for a category or quantity that cannot apply (Platform API: the category
        is "Only applicable when `attribute_name` is provided", the quantity only with a
        product or promotion one): neither is sent nor compared then (canonical drops them).
        The default category written without an attribute changes nothing: not warned."""
        if self.attribute_name:
            if self.use_product_quantity and self.attribute_category not in QUANTITY_CATEGORIES:
                return [
                    Problem(
                        ("use_product_quantity",),
                        "has no effect unless attribute_category is product_attribute or "
                        "promotion_attribute",
                        "warning",
                    )
                ]
            return []
        found: list[Problem] = []
        category = self.attribute_category
        if category in QUANTITY_CATEGORIES:
            item = "product" if category == "product_attribute" else "promotion"
            found.append(
                Problem(
                    ("attribute_category",),
                    f"`{category}` applies only with an `attribute_name` (Platform API: "
                    '"Only applicable when attribute_name is provided"): without one it is not '
                    f"sent, nor compared with the live CA; write the {item}'s attribute as "
                    "`attribute_name`, or remove `attribute_category`",
                    "warning",
                )
            )
        if self.use_product_quantity:
            found.append(
                Problem(
                    ("use_product_quantity",),
                    "applies only with an `attribute_name` of a product or promotion: without "
                    "one it is not sent, nor compared with the live CA; write `attribute_name` "
                    "with `attribute_category: product_attribute`, or remove "
                    "`use_product_quantity`",
                    "warning",
                )
            )
        return found

    def _items_of_another_event(self) -> list[Problem]:
        """A warning for product or promotion attributes of an event that has none, so the
        CA never finds a value (Events API): an event other than a commerce event has
        neither, a promotion-based commerce event no products, a product- or
        impression-based one no promotions. The API is not documented to refuse it. Judged
        only when what the data point selects is certain: its event type known, a commerce
        event's kind written as its custom_event_type (its event_name is our reading, R8),
        and an attribute named (without one the category means nothing)."""
        category = self.attribute_category
        if category not in QUANTITY_CATEGORIES or not self.attribute_name:
            return []
        if self.event_type is None:
            return []
        if self.event_type != COMMERCE_EVENT:
            items = "products" if category == "product_attribute" else "promotions"
            return [
                Problem(
                    ("attribute_category",),
                    f"`{category}` reads the {items} of a {COMMERCE_EVENT}, and a "
                    f"{self.event_type} has none: this CA never finds a value; write "
                    "`attribute_category: event_attribute` (the default) to read the event's "
                    f"own attribute, or `event_type: {COMMERCE_EVENT}`",
                    "warning",
                )
            ]
        return self._items_of_another_kind(category)

    def _items_of_another_kind(self, category: str) -> list[Problem]:
        """The commerce case of `_items_of_another_event`: a product attribute of a
        promotion, or a promotion attribute of a product action or impression."""
        custom = self.custom_event_type
        if custom not in _family(COMMERCE_EVENT):
            return []
        promotion = custom in PROMOTION_EVENT_TYPES
        if promotion == (category == "promotion_attribute"):
            return []
        if promotion:
            kind, items, other, own = "promotion", "products", "promotion_attribute", "promotions"
            instead = "the `custom_event_type` of events with products (purchase, add_to_cart, "
            instead += "impression, ...)"
        else:
            kind = "impression" if custom == "impression" else "product"
            items, other, own = "promotions", "product_attribute", "products"
            instead = "`custom_event_type: promotion_view` (or promotion_click)"
        return [
            Problem(
                ("attribute_category",),
                f"`{category}` reads an event's {items}, and `custom_event_type: {custom}` "
                f"selects {kind}-based {COMMERCE_EVENT}s, which have none: this CA never finds "
                "a value; write "
                f"`attribute_category: {other}` to read its {own}, or "
                f"{instead}",
                "warning",
            )
        ]

    def _custom_event_type(self) -> list[Problem]:
        """Whether the custom event type goes with the event type (judged only when both
        are known and it is not one of the old values any event type may hold)."""
        custom = self.custom_event_type
        legacy = LEGACY_CUSTOM_EVENT_TYPES_BY_EVENT.get(self.event_type, ())
        if (
            self.event_type is None
            or custom is None
            or custom == UNKNOWN_CUSTOM_EVENT_TYPE
            or custom in legacy
        ):
            return []
        allowed = CUSTOM_EVENT_TYPES_BY_EVENT.get(self.event_type)
        if allowed is None:
            message = (
                "Invalid data point custom event type: custom_event_type is only allowed "
                f"when event_type is custom_event or commerce_event, not {self.event_type}"
            )
        elif custom not in allowed:
            message = (
                f"Invalid data point custom event type: `{custom}` is not a {self.event_type} "
                f"type; use one of {', '.join(allowed)}"
            )
        else:
            return []
        return [Problem(("custom_event_type",), message)]

    def _legacy_values(self) -> list[Problem]:
        """Warnings for the values the UI can hold that the documented enums lack."""
        found: list[Problem] = []
        if self.event_type in LEGACY_EVENT_TYPES:
            found.append(
                Problem(
                    ("event_type",),
                    f"`{self.event_type}` is not one of the Events API's event types: the "
                    "2020 API schema listed it and the UI can hold it, but the API may refuse "
                    "it on create or update",
                    "warning",
                )
            )
        custom = self.custom_event_type
        legacy = LEGACY_CUSTOM_EVENT_TYPES_BY_EVENT.get(self.event_type, ())
        if custom == UNKNOWN_CUSTOM_EVENT_TYPE or custom in legacy:
            found.append(
                Problem(
                    ("custom_event_type",),
                    f"`{custom}` is not one of the documented custom event types: the 2020 "
                    "API schema listed it and the UI can hold it, but the API may refuse it "
                    "on create or update",
                    "warning",
                )
            )
        return found


#: The API's integers are 32-bit: a longer window passes no API, and a number past 64 bits
#: cannot even be sent.
MAX_WITHIN = 2**31 - 1


class TimePeriod(ManifestModel):
    """The window the calculation covers: since a date, or within a rolling period."""

    # `all` is read only to say what to write instead: editors are not offered it.
    type: Annotated[TimePeriodType, WithJsonSchema({"type": "string", "enum": ["since", "within"]})]
    date: Instant | None = None
    within: (
        Annotated[
            StrictInt, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_WITHIN})
        ]
        | None
    ) = None
    within_unit: WithinUnit | None = None

    def local_problems(self) -> list[Problem]:
        found: list[Problem] = []
        if self.type is None:  # built partly (manifest.partial), its type not valid
            return found
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
            elif self.within > MAX_WITHIN:
                found.append(
                    Problem(
                        ("within",),
                        "Invalid 'within' time period specification: must be a positive integer "
                        f"of at most {MAX_WITHIN} (the API's integers are 32-bit)",
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

    @classmethod
    def write_instead(cls, field: str, written: Mapping[str, Any]) -> str | None:
        """For a data point not written: its shape, with the attribute the calculation
        type written beside it aggregates."""
        if field != "datapoint":
            return None
        return Datapoint.shape(written.get("calculation_type"))

    def local_problems(self) -> list[Problem]:
        found: list[Problem] = []
        # A field may be None here when the definition is checked partly (manifest.partial):
        # a rule over a field that is not valid says nothing.
        point = self.datapoint
        if (
            self.calculation_type in NEEDS_ATTRIBUTE
            and point is not None
            and not point.attribute_name
        ):
            found.append(
                Problem(
                    ("datapoint", "attribute_name"),
                    f"calculation_type `{self.calculation_type}` aggregates an attribute's value: "
                    "set datapoint.attribute_name",
                )
            )
        period = self.time_period
        if self.seeding is not None and period is not None and period.type == "within":
            found.append(
                Problem(
                    ("seeding",),
                    "rolling (`within`) time periods cannot be seeded usefully: mParticle "
                    'takes the seeds but calls it "not supported" (seeded values never leave '
                    "the window)",
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


class Override(ManifestModel):
    """What one CA changes in one environment (SPEC §7), deep-merged onto the CA there:
    mappings merge key by key, anything else (lists too) replaces, null removes. The CA
    that results is validated as a whole."""

    active: StrictBool | None = None
    description: str | None = None
    protect: StrictBool | None = None
    #: Any part of a definition; checked once merged (`manifest.overrides`).
    definition: dict[str, Any] | None = Field(
        default=None,
        description="Any part of `definition`, deep-merged onto the CA's (null removes a key); "
        "the result is checked as a whole definition.",
    )


class CalculatedAttribute(ManifestModel):
    """One CA as a manifest declares it."""

    name: Name
    description: str | None = None
    active: StrictBool = True
    renamed_from: Name | None = None
    protect: StrictBool = False
    definition: Definition
    #: The environments where this CA exists (all without it; never none: editors are told).
    environments: list[EnvironmentName] | None = Field(
        default=None, json_schema_extra={"minItems": 1}
    )
    #: Per environment: what changes there.
    overrides: dict[EnvironmentName, Override] | None = None

    def local_problems(self) -> list[Problem]:
        found = name_problems("name", self.name)
        found += name_problems("renamed_from", self.renamed_from)
        if self.renamed_from is not None and self.renamed_from == self.name:
            found.append(Problem(("renamed_from",), "equals `name`; remove renamed_from"))
        if self.environments is not None and not self.environments:
            found.append(
                Problem(
                    ("environments",),
                    "an empty list puts this CA in no environment; name some, or remove the key",
                )
            )
        return found

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
