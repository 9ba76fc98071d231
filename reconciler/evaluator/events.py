"""One user's events (Events API event JSON), prepared once for every CA: put in time
order, indexed by the name a data point selects, and read attribute by attribute.

The evaluator's event layer (docs/semantics.md, rules R1, R7-R10): which events a data
point selects, and where an attribute name is looked up in an event, a product or a
promotion. Also how mParticle stores an S2S event (`truncated`: names cut to 256
characters), which ingestion applies (the emulator's store, test-file loading) and the
evaluator never does: the events it is given are already as stored.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.evaluator.values import MISSING, instant_millis

Data = Mapping[str, Any]

_NON_WORD = re.compile(r"[^0-9a-z]+")
_DIGITS = re.compile(r"[0-9]{1,19}")
#: promotion_action.action -> the commerce custom_event_type a data point names.
_PROMOTION_ACTIONS = {"view": "promotion_view", "click": "promotion_click"}


#: The default service limits: event names and event attribute names are at most 256
#: characters; "For S2S data, names exceeding the limit will be truncated" (the SDKs drop
#: such an event, or its attributes, instead).
MAX_NAME_LENGTH = 256
#: The fields of an event's data that hold its name.
_NAME_FIELDS = ("event_name", "screen_name")


def long_names(event: Data) -> list[tuple[str, ...]]:
    """Where an event names itself or an attribute with more than MAX_NAME_LENGTH
    characters: `("data", "event_name")`, `("data", "custom_attributes", name)`."""
    data = event.get("data")
    if not isinstance(data, Mapping):
        return []
    found: list[tuple[str, ...]] = [
        ("data", key)
        for key in _NAME_FIELDS
        if isinstance(data.get(key), str) and len(data[key]) > MAX_NAME_LENGTH
    ]
    attributes = data.get("custom_attributes")
    if isinstance(attributes, Mapping):
        found += [
            ("data", "custom_attributes", key)
            for key in attributes
            if isinstance(key, str) and len(key) > MAX_NAME_LENGTH
        ]
    return found


def truncated(event: dict[str, Any]) -> dict[str, Any]:
    """The event as mParticle keeps S2S data: its name (`event_name`, a screen view's
    `screen_name`) and its attribute names cut to 256 characters ("S2S will truncate the
    attribute name"; two names alike in their first 256 keep the later value).

    What ingestion does (the emulator's store, test-file loading), not the evaluator: an
    event reaches it as stored, and the SDKs drop what S2S would cut."""
    if not long_names(event):
        return event
    data = event["data"]
    changed = {
        key: data[key][:MAX_NAME_LENGTH]
        for key in _NAME_FIELDS
        if isinstance(data.get(key), str) and len(data[key]) > MAX_NAME_LENGTH
    }
    attributes = data.get("custom_attributes")
    if isinstance(attributes, dict):
        changed["custom_attributes"] = {k[:MAX_NAME_LENGTH]: v for k, v in attributes.items()}
    return {**event, "data": {**data, **changed}}


def compact(name: str) -> str:
    """A name reduced to lowercase letters and digits: `Add To Cart`, `add_to_cart` and
    `add-to-cart` are one name (commerce actions, R8)."""
    return _NON_WORD.sub("", name.lower())


def field_name(attribute: str) -> str:
    """The JSON field an attribute name may stand for: `Checkout Step` -> `checkout_step`
    (R9)."""
    return _NON_WORD.sub("_", attribute.lower()).strip("_")


def commerce_action(data: Data) -> str | None:
    """The commerce custom_event_type of a commerce event's data node (R8): its product
    action, `promotion_view`/`promotion_click` for a promotion, `impression` for
    impressions."""
    product_action = data.get("product_action")
    if isinstance(product_action, Mapping):
        action = product_action.get("action")
        return action if isinstance(action, str) else None
    promotion_action = data.get("promotion_action")
    if isinstance(promotion_action, Mapping):
        action = promotion_action.get("action")
        return _PROMOTION_ACTIONS.get(action, action) if isinstance(action, str) else None
    if data.get("product_impressions"):
        return "impression"
    return None


def event_name_key(event_type: str, data: Data) -> str | None:
    """The name a data point's `event_name` is compared with (R7, R8): a custom event's
    `event_name`, a commerce event's action (compacted), a screen view's `screen_name`."""
    if event_type == "custom_event":
        name = data.get("event_name")
    elif event_type == "commerce_event":
        action = commerce_action(data)
        return compact(action) if action is not None else None
    elif event_type == "screen_view":
        name = data.get("screen_name")
    else:
        return None
    return name if isinstance(name, str) else None


class Prepared:
    """An event ready for evaluation: its time, type and data node."""

    __slots__ = ("data", "event_type", "millis")

    def __init__(self, millis: int, event_type: str, data: Data) -> None:
        self.millis = millis
        self.event_type = event_type
        self.data = data


class Track:
    """Events of one selection (a type, or a type and a name) in time order."""

    __slots__ = ("events", "times")

    def __init__(self) -> None:
        self.events: list[Prepared] = []
        self.times: list[int] = []

    def between(self, low: int | None, high: int) -> Sequence[Prepared]:
        """The events with `low <= time <= high` (no lower bound when `low` is None)."""
        start = 0 if low is None else bisect_left(self.times, low)
        end = bisect_right(self.times, high)
        return self.events[start:end]


_EMPTY = Track()


def event_time(event: Mapping[str, Any]) -> int | None:
    """An event's `data.timestamp_unixtime_ms` (a JSON integer, or its digits as text) in
    epoch milliseconds, or None (R1)."""
    data = event.get("data")
    if not isinstance(data, Mapping):
        return None
    raw = data.get("timestamp_unixtime_ms")
    if isinstance(raw, str):
        return int(raw) if _DIGITS.fullmatch(raw) else None
    if isinstance(raw, int | float):
        return instant_millis(raw)
    return None


class Timeline:
    """One user's events in time order (stable: equal times keep their given order),
    indexed by event type and by (event type, name). Events without a usable timestamp
    or data node are left out (R1)."""

    __slots__ = ("by_name", "by_type", "count")

    def __init__(self, events: Iterable[Mapping[str, Any]]) -> None:
        prepared: list[Prepared] = []
        for event in events:
            event_type = event.get("event_type")
            millis = event_time(event)
            if isinstance(event_type, str) and millis is not None:
                prepared.append(Prepared(millis, event_type, event["data"]))
        prepared.sort(key=lambda item: item.millis)
        self.count = len(prepared)
        self.by_type: dict[str, Track] = {}
        self.by_name: dict[tuple[str, str], Track] = {}
        for item in prepared:
            for track in self._tracks(item):
                track.events.append(item)
                track.times.append(item.millis)

    def _tracks(self, item: Prepared) -> list[Track]:
        tracks = [self.by_type.setdefault(item.event_type, Track())]
        name = event_name_key(item.event_type, item.data)
        if name is not None:
            tracks.append(self.by_name.setdefault((item.event_type, name), Track()))
        return tracks

    def track(self, event_type: str, name: str | None) -> Track:
        """The events of a type, or of a type and name."""
        if name is None:
            return self.by_type.get(event_type, _EMPTY)
        return self.by_name.get((event_type, name), _EMPTY)


def _scalar(value: object) -> object:
    """Null and nested values are not attribute values (R11)."""
    return MISSING if value is None or isinstance(value, (Mapping, list)) else value


def event_value(data: Data, name: str, field: str) -> object:
    """An event attribute (R9): `custom_attributes[name]`, else the data node's field
    `field` (`screen_name`, `currency_code`...), else a commerce event's product action
    field (`total_amount`, `checkout_step`...)."""
    attributes = data.get("custom_attributes")
    if isinstance(attributes, Mapping) and name in attributes:
        return _scalar(attributes[name])
    if field in data:
        return _scalar(data[field])
    product_action = data.get("product_action")
    if isinstance(product_action, Mapping) and field in product_action:
        return _scalar(product_action[field])
    return MISSING


def item_value(item: Data, name: str, field: str, prefix: str) -> object:
    """A product or promotion attribute (R9): `custom_attributes[name]`, else the field
    `field`, else the field without the `product_`/`promotion_` prefix (`Product Id` ->
    `id`)."""
    attributes = item.get("custom_attributes")
    if isinstance(attributes, Mapping) and name in attributes:
        return _scalar(attributes[name])
    if field in item:
        return _scalar(item[field])
    if field.startswith(prefix) and field[len(prefix) :] in item:
        return _scalar(item[field[len(prefix) :]])
    return MISSING


def products(data: Data) -> list[Data]:
    """The products of a commerce event (R10): its product action's, else those of its
    impressions, in array order. A promotion-based event (a promotion action and no
    product action, as R8 selects it) has none, whatever impressions its data carries."""
    product_action = data.get("product_action")
    if isinstance(product_action, Mapping):
        found = product_action.get("products")
        return [p for p in found if isinstance(p, Mapping)] if isinstance(found, list) else []
    if isinstance(data.get("promotion_action"), Mapping):
        return []
    impressions = data.get("product_impressions")
    items: list[Data] = []
    if isinstance(impressions, list):
        for impression in impressions:
            found = impression.get("products") if isinstance(impression, Mapping) else None
            if isinstance(found, list):
                items += [p for p in found if isinstance(p, Mapping)]
    return items


def promotions(data: Data) -> list[Data]:
    """The promotions of a commerce event's promotion action, in array order (R10). A
    product-based event (one with a product action, as R8 selects it) has none, whatever
    promotion action its data carries."""
    if isinstance(data.get("product_action"), Mapping):
        return []
    promotion_action = data.get("promotion_action")
    found = promotion_action.get("promotions") if isinstance(promotion_action, Mapping) else None
    return [p for p in found if isinstance(p, Mapping)] if isinstance(found, list) else []
