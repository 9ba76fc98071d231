"""Builders of Events API events and API-shaped definitions for the evaluator's tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

Json = dict[str, Any]

#: Every test's calendar starts here; `at(day, hour)` counts from it.
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
AS_OF = START + timedelta(days=60)


def at(day: float, hour: float = 0) -> int:
    """Epoch ms of `day` days (and `hour` hours) after START."""
    return int((START + timedelta(days=day, hours=hour)).timestamp() * 1000)


def custom(
    name: str = "Search",
    when: int | None = None,
    kind: str = "search",
    **attributes: object,
) -> Json:
    data: Json = {
        "event_name": name,
        "custom_event_type": kind,
        "timestamp_unixtime_ms": at(1) if when is None else when,
    }
    if attributes:
        data["custom_attributes"] = {k.replace("_", " "): v for k, v in attributes.items()}
    return {"event_type": "custom_event", "data": data}


def commerce(
    action: str = "purchase",
    when: int | None = None,
    products: list[Json] | None = None,
    **fields: Any,
) -> Json:
    product_action: Json = {"action": action, "products": products or []}
    data: Json = {"timestamp_unixtime_ms": at(1) if when is None else when}
    for key, value in fields.items():
        if key in ("total_amount", "checkout_step", "coupon_code", "transaction_id"):
            product_action[key] = value
        else:
            data[key] = value
    data["product_action"] = product_action
    return {"event_type": "commerce_event", "data": data}


def product(**fields: Any) -> Json:
    return dict(fields)


def screen(name: str, when: int | None = None) -> Json:
    data = {"screen_name": name, "timestamp_unixtime_ms": at(1) if when is None else when}
    return {"event_type": "screen_view", "data": data}


def session(when: int) -> Json:
    return {"event_type": "session_start", "data": {"timestamp_unixtime_ms": when}}


def definition(
    calculation: str,
    *,
    event_type: str = "custom_event",
    name: str | None = "Search",
    kind: str | None = "search",
    attribute: str | None = None,
    category: str | None = None,
    quantity: bool = False,
    conditions: list[Json] | None = None,
    since: str | None = "2020-01-01T00:00:00",
    within: tuple[int, str] | None = None,
    cutoff: str | None = None,
) -> Json:
    """An API-shaped definition (as the planner's canonical form and the API hold it)."""
    period: Json = {"type": "since", "date": since, "within": None, "within_unit": None}
    if within is not None:
        period = {"type": "within", "date": None, "within": within[0], "within_unit": within[1]}
    return {
        "recipe_type": "event",
        "datapoint": {
            "type": "event",
            "event_name": name,
            "event_type": event_type,
            "custom_event_type": kind,
            "attribute_name": attribute,
            "attribute_category": category or ("event_attribute" if attribute else None),
            "use_product_quantity": quantity,
        },
        "conditions": conditions or [],
        "calculation_type": calculation,
        "time_period": period,
        "seeding": {"cutoff_date": cutoff} if cutoff else None,
    }


def condition(kind: str, operator: str, attribute: str = "Term", **operands: Any) -> Json:
    return {
        "type": kind,
        "operator": operator,
        "attribute_name": attribute,
        "value": operands.get("value"),
        "values": operands.get("values"),
        "min_value": operands.get("min_value"),
        "max_value": operands.get("max_value"),
    }
