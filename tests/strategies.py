"""Hypothesis strategies: valid CA definitions (manifest-shaped dicts), their API-shaped twins,
and changes of meaning. Shared by the model, planner and applier property tests."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from reconciler.models.vocabulary import (
    CALCULATION_TYPES,
    CUSTOM_EVENT_TYPES_BY_EVENT,
    EVENT_TYPES,
    NEEDS_ATTRIBUTE,
    OPERAND_SHAPE,
    OPERATOR_SUPPORT,
)

Json = dict[str, Any]

words = (
    st.text(
        alphabet=st.characters(
            whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" _-", max_codepoint=0x24F
        ),
        min_size=1,
        max_size=16,
    )
    .map(str.strip)
    .filter(bool)
)
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2026, 12, 31))


def _operand(kind: str) -> st.SearchStrategy[Any]:
    if kind == "number":
        return st.one_of(
            st.integers(-10_000, 10_000),
            st.decimals(-1000, 1000, places=2, allow_nan=False, allow_infinity=False).map(str),
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "date":
        return days
    return words


@st.composite
def conditions(draw: st.DrawFn) -> Json:
    kind = draw(st.sampled_from(["string", "number", "boolean", "date"]))
    operator = draw(st.sampled_from(sorted(OPERATOR_SUPPORT[kind])))
    condition: Json = {"type": kind, "operator": operator, "attribute_name": draw(words)}
    shape = OPERAND_SHAPE[operator]
    if shape == "single":
        condition["value"] = draw(_operand(kind))
    elif shape == "list":
        condition["values"] = draw(st.lists(_operand(kind), min_size=1, max_size=4))
    elif shape == "range":
        low, high = sorted([draw(_operand(kind)), draw(_operand(kind))], key=_order)
        condition["min_value"], condition["max_value"] = low, high
    return condition


def _order(value: Any) -> Any:
    return Decimal(str(value)) if not isinstance(value, date) else value.toordinal()


@st.composite
def definitions(draw: st.DrawFn) -> Json:
    calculation = draw(st.sampled_from(CALCULATION_TYPES))
    event_type = draw(st.sampled_from(EVENT_TYPES))
    datapoint: Json = {"event_type": event_type}
    if event_type == "custom_event" or draw(st.booleans()):
        datapoint["event_name"] = draw(words)
    family = CUSTOM_EVENT_TYPES_BY_EVENT.get(event_type)
    if family and draw(st.booleans()):
        datapoint["custom_event_type"] = draw(st.sampled_from(family))
    if calculation in NEEDS_ATTRIBUTE or draw(st.booleans()):
        datapoint["attribute_name"] = draw(words)
        category = draw(
            st.sampled_from([None, "event_attribute", "product_attribute", "promotion_attribute"])
        )
        if category:
            datapoint["attribute_category"] = category
        if category in ("product_attribute", "promotion_attribute") and draw(st.booleans()):
            datapoint["use_product_quantity"] = True
    if draw(st.booleans()):
        period: Json = {"type": "since", "date": draw(days)}
    else:
        period = {
            "type": "within",
            "within": draw(st.integers(1, 400)),
            "within_unit": draw(st.sampled_from(["days", "weeks"])),
        }
    definition: Json = {
        "calculation_type": calculation,
        "datapoint": datapoint,
        "time_period": period,
    }
    found = draw(st.lists(conditions(), max_size=3))
    if found:
        definition["conditions"] = found
    if draw(st.booleans()):
        definition["seeding"] = {"cutoff_date": draw(days)}
    return definition


def _instant_text(value: date, rng: random.Random) -> str:
    moment = datetime(value.year, value.month, value.day)
    return rng.choice(
        [
            moment.strftime("%Y-%m-%dT%H:%M:%S"),
            moment.strftime("%Y-%m-%d"),
            moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
        ]
    )


def _operand_text(value: Any, kind: str, rng: random.Random, sendable: bool) -> Any:
    if isinstance(value, bool):
        if sendable:
            return "true" if value else "false"
        return rng.choice(["true", "True", "TRUE"]) if value else rng.choice(["false", "False"])
    if isinstance(value, date):
        return _instant_text(value, rng) if kind == "date" else value.isoformat()
    if kind == "number":
        number = Decimal(str(value))
        return rng.choice(
            [str(value), f"{number:.3f}", str(number) + ("" if "." in str(number) else ".0")]
        )
    return str(value)


def api_shaped(definition: Json, seed: int, *, sendable: bool = False) -> Json:
    """The same definition as the API might return it: other spellings, same meaning.

    `sendable` keeps to spellings the API accepts on input (booleans exactly true/false).
    """
    rng = random.Random(seed)
    datapoint = dict(definition["datapoint"])
    datapoint.setdefault("type", "event")
    if "attribute_name" in datapoint:
        datapoint.setdefault("attribute_category", "event_attribute")
    else:
        # Without an attribute these have no effect; the API's own example sends them anyway.
        datapoint["attribute_name"] = rng.choice([None, ""])
        datapoint["attribute_category"] = rng.choice([None, "product_attribute"])
        datapoint["use_product_quantity"] = rng.choice([False, True])
    datapoint.setdefault("use_product_quantity", False)
    datapoint.setdefault("custom_event_type", None)
    datapoint.setdefault("event_name", rng.choice([None, ""]))
    conditions_out = []
    for condition in definition.get("conditions", []):
        kind = condition["type"]
        shaped: Json = {"value": None, "values": None, "min_value": None, "max_value": None}
        for key in ("value", "min_value", "max_value"):
            if key in condition:
                shaped[key] = _operand_text(condition[key], kind, rng, sendable)
        if "values" in condition:
            items = [_operand_text(v, kind, rng, sendable) for v in condition["values"]]
            rng.shuffle(items)
            shaped["values"] = items
        shaped.update(
            {k: condition[k] for k in ("type", "operator", "attribute_name")},
            unknown_field="ignored",
        )
        conditions_out.append(shaped)
    rng.shuffle(conditions_out)
    period = dict(definition["time_period"])
    if period["type"] == "since":
        period = {
            "type": "since",
            "date": _instant_text(period["date"], rng),
            "within": None,
            "within_unit": None,
        }
    else:
        period = {**period, "date": None}
    seeding = definition.get("seeding")
    shaped_definition: Json = {
        "recipe_type": "event",
        rng.choice(["datapoint", "data_point"]): datapoint,
        "conditions": conditions_out if conditions_out else rng.choice([None, []]),
        "calculation_type": definition["calculation_type"],
        "time_period": period,
        "seeding": (
            {"cutoff_date": _instant_text(seeding["cutoff_date"], rng)} if seeding else None
        ),
        "revision": 7,
    }
    return shaped_definition


@st.composite
def meaning_changes(draw: st.DrawFn, definition: Json) -> Json:
    """A copy of `definition` that means something else (a single real change)."""
    changed: Json = {
        **definition,
        "datapoint": dict(definition["datapoint"]),
        "time_period": dict(definition["time_period"]),
    }
    options = ["calculation", "event_name", "period", "add_condition", "seeding"]
    if definition.get("conditions"):
        options.append("drop_condition")
    choice = draw(st.sampled_from(options))
    if choice == "calculation":
        current = definition["calculation_type"]
        others = [c for c in CALCULATION_TYPES if c != current]
        if not changed["datapoint"].get("attribute_name"):
            others = [c for c in others if c not in NEEDS_ATTRIBUTE]
        changed["calculation_type"] = draw(st.sampled_from(others))
    elif choice == "event_name":
        name = changed["datapoint"].get("event_name")
        changed["datapoint"]["event_name"] = draw(words.filter(lambda w: w != name))
    elif choice == "period":
        period = definition["time_period"]
        if period["type"] == "since":
            changed["time_period"] = {"type": "since", "date": period["date"] + timedelta(days=1)}
        else:
            changed["time_period"] = {**period, "within": period["within"] + 1}
    elif choice == "add_condition":
        changed["conditions"] = [*definition.get("conditions", []), draw(conditions())]
    elif choice == "drop_condition":
        changed["conditions"] = definition["conditions"][1:]
    else:
        seeding = definition.get("seeding")
        changed["seeding"] = None if seeding else {"cutoff_date": definition_day(definition)}
    return changed


def definition_day(definition: Json) -> date:
    period = definition["time_period"]
    return period["date"] if period["type"] == "since" else date(2024, 1, 1)
