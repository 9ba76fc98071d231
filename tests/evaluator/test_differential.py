"""`reconciler test`, plan and the emulator agree by construction only if every spelling of
a definition that the planner calls equal is evaluated alike: the manifest's canonical
form (what `reconciler test` evaluates), the API's answer in any of its spellings (what a
plan's "before" is read from) and the emulator's stored form after its own validation
(what its profile read evaluates). Checked over generated definitions and events aimed at
them (their names, their conditions' attributes and operands, their windows)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.emulator.validation import Errors, check_definition
from reconciler.evaluator import evaluate
from reconciler.models import Definition, LiveDefinition
from tests.strategies import api_shaped, definitions

Json = dict[str, Any]
AS_OF = datetime(2027, 1, 1, tzinfo=timezone.utc)
FIRST_DAY = datetime(2014, 6, 1, tzinfo=timezone.utc)
#: The event types a data point selects by name: where most spellings differ.
NAMED = frozenset({"custom_event", "commerce_event", "screen_view"})


def _spellings(operand: object) -> list[object]:
    """An operand as an event may carry it, meeting the condition or nearly."""
    if isinstance(operand, bool):
        return [operand, str(operand).lower(), str(operand)]
    if isinstance(operand, date):
        midnight = datetime(operand.year, operand.month, operand.day, tzinfo=timezone.utc)
        late = (midnight + timedelta(hours=23)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return [operand.isoformat(), late, int(midnight.timestamp() * 1000)]
    if isinstance(operand, int):
        return [operand, str(operand), operand + 1, float(operand)]
    text = str(operand)
    return [text, text.upper(), text + "x", ""]


def _operands(definition: Json) -> list[object]:
    found: list[object] = []
    for condition in definition.get("conditions", []):
        found += [condition[key] for key in ("value", "min_value", "max_value") if key in condition]
        found += condition.get("values", [])
    return found


@st.composite
def _events(draw: st.DrawFn, definition: Json) -> list[Json]:
    datapoint = definition["datapoint"]
    event_type = datapoint["event_type"]
    names = [condition["attribute_name"] for condition in definition.get("conditions", [])]
    if datapoint.get("attribute_name"):
        names.append(datapoint["attribute_name"])
    pool = [s for operand in _operands(definition) for s in _spellings(operand)]
    values = st.sampled_from([*pool, "a", "b", 1, 2.5])

    def attributes() -> Json:
        return {name: draw(values) for name in names if draw(st.integers(0, 4))}

    events = []
    for _ in range(draw(st.integers(0, 6))):
        day = draw(st.one_of(st.integers(0, 4700), st.integers(4580, 4597)))
        moment = FIRST_DAY + timedelta(days=day, minutes=draw(st.integers(0, 1440)))
        data: Json = {
            "timestamp_unixtime_ms": int(moment.timestamp() * 1000),
            "custom_attributes": attributes(),
        }
        if event_type == "custom_event":
            data["event_name"] = draw(st.sampled_from([datapoint["event_name"]] * 3 + ["Other"]))
            data["custom_event_type"] = datapoint.get("custom_event_type") or "other"
        elif event_type == "screen_view":
            data["screen_name"] = datapoint.get("event_name") or "Home"
        elif event_type == "commerce_event":
            action = datapoint.get("custom_event_type") or "purchase"
            items = [
                {"custom_attributes": attributes(), "quantity": draw(st.sampled_from([1, 2, "3"]))}
                for _ in range(draw(st.integers(0, 3)))
            ]
            if draw(st.booleans()):
                data["product_action"] = {"action": action, "products": items}
            else:
                data["promotion_action"] = {"action": "view", "promotions": items}
        events.append({"event_type": event_type, "data": data})
    return events


@settings(max_examples=500)
@given(st.data())
def test_every_spelling_of_a_definition_is_evaluated_alike(data: st.DataObject) -> None:
    named = definitions().filter(lambda drawn: drawn["datapoint"]["event_type"] in NAMED)
    definition = data.draw(st.one_of(definitions(), named))
    if data.draw(st.booleans()):  # fewer conditions: more events qualify
        definition.pop("conditions", None)
    elif definition.get("conditions"):
        definition["conditions"] = definition["conditions"][:1]
    seed = data.draw(st.integers(0, 2**32))
    events = data.draw(_events(definition))
    errors = Errors()
    stored = check_definition(
        api_shaped(definition, seed, sendable=True), errors, None, datetime(2027, 1, 1)
    )
    assert stored is not None, errors.messages()
    answer = api_shaped(definition, seed)
    spellings = {
        "manifest": Definition.model_validate(definition).canonical,
        "answer": answer,
        "answer read": LiveDefinition.read(answer).canonical,
        "emulator": stored,
    }
    values = {name: evaluate(form, events, None, AS_OF) for name, form in spellings.items()}
    assert len(set(values.values())) == 1, (values, spellings, events)
