"""The workspace the resilience tests reconcile: live CAs staged in every state a plan
handles, the manifests that change all of them, and an outside check of the result.

The check reads the live workspace through the API and compares it with what a plain
client gets from the emulator for the same definitions, so it does not share the
reconciler's models (or their mistakes).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.support.emulator import EmulatorServer
from tests.support.workspace import PURCHASES, SESSIONS, RawApi, ca

#: Definitions other than the shared ones, so that several shapes of body are sent.
FAVOURITES: dict[str, Any] = {
    "calculation_type": "unique_list",
    "datapoint": {
        "event_name": "Search",
        "event_type": "custom_event",
        "custom_event_type": "search",
        "attribute_name": "Term",
    },
    "conditions": [
        {"type": "string", "operator": "in_list", "attribute_name": "Lang", "values": ["en", "fr"]}
    ],
    "time_period": {"type": "since", "date": "2023-05-01"},
}
WINDOWED: dict[str, Any] = {
    "calculation_type": "last_occurrence",
    "datapoint": {"event_type": "commerce_event", "attribute_name": "Product Id"},
    "conditions": [
        {
            "type": "date",
            "operator": "between_dates",
            "attribute_name": "Shipped",
            # Spelt as the reconciler sends dates: the emulator stores condition values as
            # sent, and the reference copy is written by a plain client.
            "min_value": "2024-01-01T00:00:00",
            "max_value": "2024-06-30T00:00:00",
        }
    ],
    "time_period": {"type": "within", "within": 12, "within_unit": "weeks"},
}
WEEKLY: dict[str, Any] = {
    **SESSIONS,
    "time_period": {"type": "within", "within": 7, "within_unit": "days"},
}
SHAPES = [SESSIONS, PURCHASES, FAVOURITES, WINDOWED]
#: Live-definition keys that depend on when and by whom a CA was written.
AUDIT_KEYS = {"id", "created_on", "created_by", "last_modified_on", "last_modified_by"}


def shape(n: int) -> dict[str, Any]:
    """The n-th of a few valid definitions of different shapes."""
    return SHAPES[n % len(SHAPES)]


@dataclass(frozen=True)
class Scenario:
    """What was staged: the manifests' CAs and the ids of the CAs that existed before."""

    desired: list[dict[str, Any]]
    ids: dict[str, int]

    @property
    def creates(self) -> int:
        """How many CAs the plan creates (absent, and not renamed from a live one)."""
        absent = [item for item in self.desired if item["name"] not in self.ids]
        return sum(1 for item in absent if "renamed_from" not in item)


def stage(url: str) -> Scenario:
    """Stage live CAs in every state a plan handles (through a fault-free emulator) and
    return the manifests that change all of them (`prune: true` deletes two)."""
    raw = RawApi(url)
    try:
        return _stage(raw)
    finally:
        raw.close()


def _stage(raw: RawApi) -> Scenario:
    desired: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    for n in range(4):  # absent: create, then activate
        desired.append(ca(f"New {n}", shape(n), description=f"new {n}"))
    for n in range(2):  # absent and inactive: create as a draft only
        desired.append(ca(f"Draft {n}", shape(n + 1), active=False))
    for n in range(3):  # active with an old definition: update, then activate
        ids[f"Changed {n}"] = raw.create(f"Changed {n}", WEEKLY)
        raw.activate(ids[f"Changed {n}"])
        desired.append(ca(f"Changed {n}", shape(n + 2)))
    for n in range(2):  # the desired draft is staged: activate only
        ids[f"Staged {n}"] = raw.create(f"Staged {n}", shape(n))
        desired.append(ca(f"Staged {n}", shape(n)))
    for n in range(2):  # active and equal, with a stray draft from the UI: discard it
        ids[f"Stray {n}"] = raw.create(f"Stray {n}", shape(n + 3))
        raw.activate(ids[f"Stray {n}"])
        raw.update(ids[f"Stray {n}"], f"Stray {n}", WEEKLY)
        desired.append(ca(f"Stray {n}", shape(n + 3)))
    ids["Described"] = raw.create("Described", SESSIONS, description="old")
    raw.activate(ids["Described"])
    desired.append(ca("Described", SESSIONS, description="new"))
    ids["Before rename"] = raw.create("Before rename", PURCHASES)
    desired.append(ca("Renamed", PURCHASES, renamed_from="Before rename"))
    for n in range(2):  # unmanaged: deleted by prune
        ids[f"Legacy {n}"] = raw.create(f"Legacy {n}", SESSIONS)
    for n in range(2):  # already as desired
        ids[f"Same {n}"] = raw.create(f"Same {n}", shape(n))
        raw.activate(ids[f"Same {n}"])
        desired.append(ca(f"Same {n}", shape(n)))
    return Scenario(desired, ids)


def reference(emulator: EmulatorServer, desired: list[dict[str, Any]]) -> dict[str, Any]:
    """Each desired definition as the emulator stores it when a plain client writes it
    once (`emulator` is reset first: any fault-free server will do)."""
    emulator.reset()
    api = RawApi(emulator.url)
    try:
        for item in desired:
            api.create(item["name"], item["definition"], item.get("description", ""))
        return {name: definition(live["draft_definition"]) for name, live in api.by_name().items()}
    finally:
        api.close()


def definition(value: dict[str, Any] | None) -> Any:
    """A live definition without its audit fields."""
    if value is None:
        return None
    return {k: v for k, v in value.items() if k not in AUDIT_KEYS}


def duplicates(names: list[str]) -> list[str]:
    return sorted(name for name, n in Counter(names).items() if n > 1)


def check_converged(server: EmulatorServer, scenario: Scenario, wanted: dict[str, Any]) -> None:
    """The live workspace holds exactly the desired CAs, once each, as a plain client would
    have written them; existing CAs were changed in place (same id), never replaced."""
    server.settings(fault_rate=0)
    api = RawApi(server.url)
    try:
        live = api.list()
    finally:
        api.close()
    names = [item["name"] for item in live]
    assert duplicates(names) == []
    assert set(names) == {item["name"] for item in scenario.desired}
    by_name = {item["name"]: item for item in live}
    for item in scenario.desired:
        name = item["name"]
        current = by_name[name]
        if item.get("active", True):
            assert definition(current["active_definition"]) == wanted[name], name
            # A description-only update PUTs the (unchanged) draft along; a draft equal to
            # the active definition counts as no draft (SPEC 4.2).
            assert definition(current["draft_definition"]) in (None, wanted[name]), name
        else:
            assert current["active_definition"] is None, name
            assert definition(current["draft_definition"]) == wanted[name], name
        assert current["description"] == item.get("description", ""), name
        if name in scenario.ids:
            assert current["id"] == scenario.ids[name], f"{name} was replaced, not changed"
    assert by_name["Renamed"]["id"] == scenario.ids["Before rename"]
