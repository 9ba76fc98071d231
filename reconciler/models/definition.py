"""Desired state: the strict models of a CA as written in a manifest, with every documented rule.

Structure (types, enums, unknown keys) is checked by pydantic; the API's cross-field rules
are `problems()` that return every violation with its field path, so the manifest loader can
report them all at once. Building a model in code raises on the first model with problems.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from functools import cached_property
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from reconciler.models.canonical import CanonicalDefinition, canonical_definition
from reconciler.models.values import check_operand, parse_instant, parse_number
from reconciler.models.vocabulary import (
    CUSTOM_EVENT_TYPES_BY_EVENT,
    NEEDS_ATTRIBUTE,
    OPERAND_SHAPE,
    OPERATOR_SUPPORT,
    QUANTITY_CATEGORIES,
    AttributeCategory,
    CalculationType,
    ConditionType,
    DatapointType,
    EventType,
    Operator,
    TimePeriodType,
    WithinUnit,
)

Path = tuple[str | int, ...]


class Problem(NamedTuple):
    """A rule violation at a field path relative to the model that found it."""

    path: Path
    message: str
    severity: Literal["error", "warning"] = "error"


def _prefixed(prefix: Path, problems: list[Problem]) -> list[Problem]:
    return [Problem(prefix + p.path, p.message, p.severity) for p in problems]


def _scalar(value: object) -> str | bool | int | float | date:
    if isinstance(value, (str, bool, int, float, date)):
        return value
    raise ValueError(f"expected a single value (text, number, boolean or date), got {value!r}")


def _instant(value: object) -> datetime:
    return parse_instant(value)


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if value != value.strip():
        raise ValueError(f"{value!r} has leading or trailing spaces; remove them")
    # Control (Cc) and format (Cf) characters are invisible in a UI: a name with them is a
    # mistake. isprintable() is a fast pre-check (it is False for those and a few others).
    if not value.isprintable() and any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValueError(f"{value!r} contains control characters")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Scalar = Annotated[
    str | bool | int | float | date,
    PlainValidator(_scalar),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]
Instant = Annotated[
    datetime,
    PlainValidator(_instant),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
    ),
]
Name = Annotated[str, AfterValidator(_name)]
Text = Annotated[str, AfterValidator(_text)]

_TYPE_WORD = {"string": "string", "number": "numeric", "boolean": "boolean", "date": "date"}


class _Manifest(BaseModel):
    """Manifest models: frozen, strict types, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    def local_problems(self) -> list[Problem]:
        """Rules of this model alone (children report their own)."""
        return []

    def problems(self) -> list[Problem]:
        """Every rule violation of this model and its children, with field paths."""
        return self.local_problems()

    @model_validator(mode="after")
    def _enforce_rules(self, info: ValidationInfo) -> Any:
        if isinstance(info.context, dict) and info.context.get("defer_rules"):
            return self
        errors = [p for p in self.local_problems() if p.severity == "error"]
        if errors:
            raise ValueError(
                "; ".join(f"{'.'.join(map(str, p.path))}: {p.message}" for p in errors)
            )
        return self


class Condition(_Manifest):
    """A filter on an attribute of the datapoint's event."""

    type: ConditionType
    operator: Operator
    attribute_name: Text
    value: Scalar | None = None
    values: list[Scalar] | None = None
    min_value: Scalar | None = None
    max_value: Scalar | None = None

    def local_problems(self) -> list[Problem]:
        found: list[Problem] = []
        word = _TYPE_WORD[self.type]
        supported = OPERATOR_SUPPORT[self.type]
        if self.operator not in supported:
            found.append(
                Problem(
                    ("operator",),
                    f"Invalid {word} condition operator: `{self.operator}` does not apply to "
                    f"{self.type} conditions; use one of {', '.join(sorted(supported))}",
                )
            )
        shape = OPERAND_SHAPE[self.operator]
        found += self._operand_problems(shape, word)
        return found

    def _operand_problems(self, shape: str, word: str) -> list[Problem]:
        found: list[Problem] = []
        op = self.operator

        def forbid(field: str, message: str) -> None:
            if getattr(self, field) is not None:
                found.append(Problem((field,), message))

        def parse(field: str, value: object, what: str, index: int | None = None) -> None:
            reason = check_operand(self.type, value)
            if reason is not None:
                path: Path = (field,) if index is None else (field, index)
                found.append(Problem(path, f"{what}: {reason}"))

        if shape == "single":
            if self.value is None or self.value == "":
                required = {
                    "string": "String condition value must be specified",
                    "number": "Invalid numeric condition value",
                    "boolean": "Invalid boolean condition value",
                    "date": "Invalid date condition value",
                }[self.type]
                found.append(Problem(("value",), f"{required}: operator `{op}` needs `value`"))
            else:
                parse("value", self.value, f"Invalid {word} condition value")
        elif self.value is not None:
            if shape == "list":
                found.append(
                    Problem(
                        ("value",), "is ignored with in_list; put the items in `values`", "warning"
                    )
                )
            else:
                why = "a range" if shape == "range" else f"operator `{op}`"
                found.append(Problem(("value",), f"Condition value must be empty for {why}"))

        if shape == "list":
            if not self.values:
                required = {
                    "string": "In-list condition values must be specified",
                    "number": "Invalid numeric in-list condition values",
                }.get(self.type, f"Invalid {word} in-list condition values")
                found.append(
                    Problem(("values",), f"{required}: in_list needs a non-empty `values`")
                )
            else:
                for index, item in enumerate(self.values):
                    parse("values", item, f"Invalid {word} in-list condition values", index)
        else:
            forbid("values", f"Condition values must be empty: operator `{op}` takes no list")

        if shape == "range":
            for field, bound in (("min_value", "minimum"), ("max_value", "maximum")):
                value = getattr(self, field)
                if value is None or value == "":
                    found.append(
                        Problem(
                            (field,),
                            f"Invalid {word} condition {bound} value: `{op}` needs `{field}`",
                        )
                    )
                else:
                    parse(field, value, f"Invalid {word} condition {bound} value")
            found += self._range_order()
        else:
            forbid("min_value", f"Condition minimum value must be empty: `{op}` is not a range")
            forbid("max_value", f"Condition maximum value must be empty: `{op}` is not a range")
        return found

    def _range_order(self) -> list[Problem]:
        low, high = self.min_value, self.max_value
        if low is None or high is None:
            return []
        try:
            if self.type == "number":
                inverted = parse_number(low) > parse_number(high)
            else:
                inverted = parse_instant(low) > parse_instant(high)
        except ValueError:
            return []
        if inverted:
            return [
                Problem(("min_value",), f"min_value {low!r} is greater than max_value {high!r}")
            ]
        return []


class Datapoint(_Manifest):
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


class TimePeriod(_Manifest):
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


class Seeding(_Manifest):
    """Seeds cover the data before `cutoff_date`; mParticle calculates from it on."""

    cutoff_date: Instant


class Definition(_Manifest):
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
        found += _prefixed(("datapoint",), self.datapoint.problems())
        for index, condition in enumerate(self.conditions or ()):
            found += _prefixed(("conditions", index), condition.problems())
        found += _prefixed(("time_period",), self.time_period.problems())
        return found

    @cached_property
    def canonical(self) -> CanonicalDefinition:
        return canonical_definition(self)


class CalculatedAttribute(_Manifest):
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
        return self.local_problems() + _prefixed(("definition",), self.definition.problems())


class ManifestFile(_Manifest):
    """A `*.yaml` manifest file: a list of CAs."""

    calculated_attributes: list[CalculatedAttribute] = Field(default_factory=list)
