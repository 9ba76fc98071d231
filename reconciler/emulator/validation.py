"""Definition rules of the Platform API: checks a create/update body against every rule the
docs state and returns the canonical stored definition, or all the documented messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reconciler.emulator import messages as m
from reconciler.emulator.conditions import check_conditions
from reconciler.emulator.values import definition_date, one_of, parse_iso

CALCULATION_TYPES = frozenset(
    {
        "count",
        "first_occurrence_timestamp",
        "last_occurrence_timestamp",
        "first_occurrence",
        "last_occurrence",
        "sum",
        "min",
        "max",
        "average",
        "unique_list",
        "unique_values_count",
        "most_frequent",
    }
)
#: The seeding page spells min/max as minimum/maximum; both are accepted and stored as min/max.
CALCULATION_SYNONYMS = {"minimum": "min", "maximum": "max"}

DATA_POINT_TYPES = frozenset({"event", "event_attribute", "user_attribute"})
EVENT_TYPES = frozenset(
    {
        "custom_event",
        "commerce_event",
        "session_start",
        "session_end",
        "screen_view",
        "uninstall",
        "crash_report",
        "opt_out",
        "first_run",
        "pre_attribution",
        "push_registration",
        "application_state_transition",
        "push_message",
        "network_performance",
        "breadcrumb",
        "profile",
        "push_reaction",
        "user_attribute_change",
        "user_identity_change",
    }
)
CUSTOM_EVENT_TYPES: dict[str, frozenset[str]] = {
    "custom_event": frozenset(
        {
            "navigation",
            "location",
            "search",
            "transaction",
            "user_content",
            "user_preference",
            "social",
            "other",
            "media",
            "attribution",
        }
    ),
    "commerce_event": frozenset(
        {
            "add_to_cart",
            "remove_from_cart",
            "checkout",
            "checkout_option",
            "click",
            "view_detail",
            "purchase",
            "refund",
            "promotion_view",
            "promotion_click",
            "add_to_wishlist",
            "remove_from_wishlist",
            "impression",
        }
    ),
}
#: Values the request schema the CA page carried in 2020 also lists (and the GET example
#: shows: `event_type: unknown`, `custom_event_type: unknown`): the UI can hold them, so the
#: emulator accepts them beside the Events API's enums. `unknown` is the "no custom type"
#: of that schema and goes with any event type.
LEGACY_EVENT_TYPES = frozenset({"unknown", "validation_result"})
LEGACY_CUSTOM_EVENT_TYPES: dict[str, frozenset[str]] = {
    "custom_event": frozenset({"consent_granted", "consent_denied"}),
}
ANY_EVENT_CUSTOM_TYPE = "unknown"
ATTRIBUTE_CATEGORIES = frozenset({"event_attribute", "product_attribute", "promotion_attribute"})
WITHIN_UNITS = {"days": 1, "weeks": 7}


class Errors:
    """Messages in the order found, each once: a request reports all its errors."""

    def __init__(self) -> None:
        self._messages: dict[str, None] = {}

    def add(self, message: str) -> None:
        self._messages.setdefault(message, None)

    def __bool__(self) -> bool:
        return bool(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    def messages(self) -> list[str]:
        return list(self._messages)


@dataclass(frozen=True)
class CaBody:
    """A valid create/update body: `description` is None when the body did not send one."""

    name: str
    description: str | None
    definition: dict[str, Any]


def check_body(
    body: object, *, retention_days: int | None, now: datetime
) -> tuple[CaBody | None, list[str]]:
    """Check a create/update request body; the canonical body, or every error message."""
    errors = Errors()
    if not isinstance(body, dict):
        return None, [m.BODY_NOT_OBJECT]
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.add(m.NAME_REQUIRED)
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        errors.add(m.DESCRIPTION)
    raw_definition = body.get("draft_definition")
    definition: dict[str, Any] | None = None
    if raw_definition is None:
        errors.add(m.DEFINITION_REQUIRED)
    else:
        definition = check_definition(raw_definition, errors, retention_days, now)
    if errors or definition is None or not isinstance(name, str):
        return None, errors.messages()
    return CaBody(name, description if isinstance(description, str) else None, definition), []


def check_definition(
    raw: object, errors: Errors, retention_days: int | None, now: datetime
) -> dict[str, Any] | None:
    """The canonical form of a draft definition, or None after adding its errors."""
    if not isinstance(raw, dict):
        errors.add(m.DEFINITION_REQUIRED)
        return None
    before = len(errors)
    if raw.get("recipe_type") != "event":
        errors.add(m.RECIPE_TYPE)
    raw_point = raw.get("datapoint")
    if raw_point is None:
        raw_point = raw.get("data_point")
    data_point = _check_data_point(raw_point, errors)
    conditions = check_conditions(raw.get("conditions"), errors)
    calculation_type = raw.get("calculation_type")
    if isinstance(calculation_type, str):
        calculation_type = CALCULATION_SYNONYMS.get(calculation_type, calculation_type)
    if not one_of(calculation_type, CALCULATION_TYPES):
        errors.add(m.CALCULATION_TYPE)
    time_period = _check_time_period(raw.get("time_period"), errors, retention_days, now)
    seeding = _check_seeding(raw.get("seeding"), errors)
    if len(errors) > before:
        return None
    return {
        "recipe_type": "event",
        "datapoint": data_point,
        "conditions": conditions,
        "calculation_type": calculation_type,
        "time_period": time_period,
        "seeding": seeding,
    }


def _check_data_point(raw: object, errors: Errors) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errors.add(m.DATA_POINT)
        return None
    point_type = raw.get("type")
    if not one_of(point_type, DATA_POINT_TYPES):
        errors.add(m.DATA_POINT_TYPE)
    event_type = raw.get("event_type")
    event_name = raw.get("event_name")
    custom_event_type = raw.get("custom_event_type")
    _check_event(event_type, event_name, custom_event_type, errors)
    attribute_name = raw.get("attribute_name")
    if attribute_name == "":
        attribute_name = None
    if (attribute_name is not None and not isinstance(attribute_name, str)) or (
        attribute_name is None and point_type in ("event_attribute", "user_attribute")
    ):
        errors.add(m.DATA_POINT_ATTRIBUTE_NAME)
    category = raw.get("attribute_category")
    if category is not None and not one_of(category, ATTRIBUTE_CATEGORIES):
        errors.add(m.DATA_POINT_ATTRIBUTE_CATEGORY)
    if category is None and attribute_name is not None:
        # "If nothing is set the default value will be set as event_attribute."
        category = "event_attribute"
    quantity = raw.get("use_product_quantity")
    if quantity is not None and not isinstance(quantity, bool):
        errors.add(m.DATA_POINT_PRODUCT_QUANTITY)
    return {
        "type": point_type,
        "event_name": event_name,
        "attribute_name": attribute_name,
        "event_type": event_type,
        "custom_event_type": custom_event_type,
        "attribute_category": category,
        "use_product_quantity": bool(quantity),
    }


def _check_event(event_type: object, event_name: object, custom: object, errors: Errors) -> None:
    """The event a data point names: its type, its name, its custom event type."""
    known_event = one_of(event_type, EVENT_TYPES | LEGACY_EVENT_TYPES)
    if not known_event:
        errors.add(m.DATA_POINT_EVENT_TYPE)
    if event_type == "custom_event":
        if not isinstance(event_name, str) or not event_name.strip():
            errors.add(m.CUSTOM_EVENT_NAME)
    elif event_name is not None and not isinstance(event_name, str):
        errors.add(m.DATA_POINT_EVENT_NAME)
    # Judged only against a valid event type: with an unknown one there is nothing to judge by.
    if (
        custom is not None
        and custom != ANY_EVENT_CUSTOM_TYPE
        and known_event
        and not one_of(custom, _custom_event_types(str(event_type)))
    ):
        errors.add(m.CUSTOM_EVENT_TYPE)


def _custom_event_types(event_type: str) -> frozenset[str]:
    """The custom_event_type values an event type takes: its family, old values included."""
    family = CUSTOM_EVENT_TYPES.get(event_type, frozenset())
    return family | LEGACY_CUSTOM_EVENT_TYPES.get(event_type, frozenset())


def _check_time_period(
    raw: object, errors: Errors, retention_days: int | None, now: datetime
) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errors.add(m.TIME_PERIOD)
        return None
    period_type = raw.get("type")
    result: dict[str, Any] = {
        "type": period_type,
        "date": None,
        "within": None,
        "within_unit": None,
    }
    if period_type == "all":
        errors.add(m.TIME_PERIOD_ALL)
    elif period_type == "since":
        date = parse_iso(raw.get("date"))
        if date is None:
            errors.add(m.TIME_PERIOD)
            return None
        if retention_days is not None:
            earliest = datetime(now.year, now.month, now.day) - timedelta(days=retention_days)
            if date < earliest:
                errors.add(m.RETENTION_DATE.format(date=earliest.date().isoformat()))
        result["date"] = definition_date(date)
    elif period_type == "within":
        within = raw.get("within")
        unit = raw.get("within_unit")
        days = _positive_int(within)
        if days is None:
            errors.add(m.TIME_PERIOD_WITHIN)
        if not one_of(unit, WITHIN_UNITS):
            errors.add(m.TIME_PERIOD_WITHIN_UNIT)
        elif (
            days is not None
            and retention_days is not None
            and days * WITHIN_UNITS[str(unit)] > retention_days
        ):
            errors.add(m.RETENTION_WITHIN.format(N=retention_days))
        result["within"] = within
        result["within_unit"] = unit
    else:
        errors.add(m.TIME_PERIOD_TYPE)
    return result


def _positive_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _check_seeding(raw: object, errors: Errors) -> dict[str, Any] | None:
    if raw is None:
        return None
    cutoff = parse_iso(raw.get("cutoff_date")) if isinstance(raw, dict) else None
    if cutoff is None:
        errors.add(m.SEEDING)
        return None
    return {"cutoff_date": definition_date(cutoff)}
