"""Seed files for tests and the benchmark: deterministic users as JSONL or CSV, what the
emulator must hold for each once seeded, and a workspace holding the manifests' CAs.

Users vary on purpose: mpid or identities, `calculation_type`/`cutoff_date` given or left
to the manifests (`maximum` for `max`), every calculation type, user attributes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from reconciler import manifest
from reconciler.models.values import canonical_instant

Json = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
#: The seeding tests' workspace: one seedable CA per calculation type, and three unseedable.
MANIFESTS = ROOT / "tests" / "seeding" / "manifests"
#: Declared with seeding in the manifests but left out of the emulator's workspace: the
#: server answers "No matching calculated attribute definition found".
NOT_IN_WORKSPACE = "Loyalty Points"
ENV = "development"

#: CSV columns of `write_csv`, in order.
CSV_COLUMNS = [
    "mpid",
    "customer_id",
    "email",
    "environment",
    "LTV",
    "Orders",
    "Largest Order",
    "Average Order Value.sum",
    "Average Order Value.count",
    "First Seen",
    "Last Search Term",
    "Products Viewed",
    "Favorite Category",
    "user_attributes.Tier",
]


def cutoffs() -> dict[str, tuple[str, str]]:
    """CA name -> (calculation type, cutoff `yyyy-MM-dd`) for the seedable CAs."""
    loaded = manifest.load(MANIFESTS)
    found: dict[str, tuple[str, str]] = {}
    for desired in loaded.cas:
        definition = desired.ca.definition
        if definition.seeding is not None and definition.time_period.type == "since":
            cutoff = definition.seeding.cutoff_date.date().isoformat()
            found[desired.name] = (definition.calculation_type, cutoff)
    return found


def create_workspace(url: str, token: str, workspace_id: int = 1234) -> list[str]:
    """Create (and activate) every CA of the test manifests in an emulator, except
    NOT_IN_WORKSPACE; the names created."""
    loaded = manifest.load(MANIFESTS)
    base = f"{url}/platform/v2/workspaces/{workspace_id}/calculatedattributes"
    headers = {"authorization": f"Bearer {token}"}
    created = []
    with httpx.Client(timeout=30) as client:
        for desired in loaded.cas:
            if desired.name == NOT_IN_WORKSPACE:
                continue
            body = {
                "name": desired.name,
                "description": "",
                "draft_definition": desired.ca.definition.canonical,
            }
            response = client.post(base, json=body, headers=headers)
            response.raise_for_status()
            client.post(f"{base}/{response.json()}/activation", headers=headers).raise_for_status()
            created.append(desired.name)
    return created


def user(index: int) -> Json:
    """User `index` as a JSONL line holds it (the API's single-user body shape)."""
    seeds: list[Json] = [
        {"attribute_name": "LTV", "seed": {"value": round(index * 1.25, 2)}},
        {
            "attribute_name": "Orders",
            "calculation_type": "count",
            "cutoff_date": "2024-01-01",
            "seed": {"value": index % 50},
        },
        {
            "attribute_name": "Average Order Value",
            "seed": {"key_value_pairs": {"sum": index * 2.5, "count": index % 7 + 1}},
        },
        {"attribute_name": "First Seen", "seed": {"value": 1_600_000_000_000 + index}},
        {"attribute_name": "Last Search Term", "seed": {"value": f"term {index}"}},
        {
            "attribute_name": "Products Viewed",
            "seed": {"list": [f"p{index % 13}", f"p{index % 17}"]},
        },
        {
            "attribute_name": "Favorite Category",
            "seed": {"key_value_pairs": {f"c{index % 5}": index % 9 + 1}},
        },
    ]
    if index % 4 == 0:
        seeds.append(
            {
                "attribute_name": "Largest Order",
                "calculation_type": "maximum",
                "seed": {"value": index % 1000},
            }
        )
    return _identified(index) | {
        "calculated_attributes": {"workspace": seeds},
        "user_attributes": {
            "workspace": [
                {"attribute_name": "Tier", "attribute_value": "gold" if index % 2 else "free"}
            ]
        },
    }


def small_user(index: int) -> Json:
    """User `index` with one seed: under 256 bytes, so 1,000 fit in one request."""
    seed = {"attribute_name": "LTV", "seed": {"value": round(index * 1.25, 2)}}
    return _identified(index) | {
        "calculated_attributes": {"workspace": [seed]},
        "user_attributes": {"workspace": []},
    }


def _identified(index: int) -> Json:
    if index % 3 == 0:
        return {
            "environment": ENV,
            "identities": {"customer_id": f"c{index}", "email": f"user{index}@example.com"},
        }
    return {"environment": ENV, "mpid": 10**15 + index}


def users(count: int, start: int = 0) -> Iterator[Json]:
    return (user(index) for index in range(start, start + count))


def write_jsonl(path: Path, bodies: Iterable[Json | bytes]) -> Path:
    """One user a line; bytes are written as they are (for broken lines)."""
    with path.open("wb") as file:
        for body in bodies:
            file.write((body if isinstance(body, bytes) else orjson.dumps(body)) + b"\n")
    return path


def csv_row(body: Json) -> list[str]:
    """A user of `user()` as a row under CSV_COLUMNS."""
    identities = body.get("identities", {})
    cells = {
        "mpid": str(body.get("mpid", "")),
        "customer_id": identities.get("customer_id", ""),
        "email": identities.get("email", ""),
        "environment": body["environment"],
    }
    for seed in body["calculated_attributes"]["workspace"]:
        name = seed["attribute_name"]
        value = seed["seed"]
        if name == "Average Order Value":
            pairs = value["key_value_pairs"]
            cells[f"{name}.sum"] = orjson.dumps(pairs["sum"]).decode()
            cells[f"{name}.count"] = orjson.dumps(pairs["count"]).decode()
        elif "value" in value and isinstance(value["value"], str):
            cells[name] = value["value"]
        else:
            cells[name] = orjson.dumps(next(iter(value.values()))).decode()
    for attribute in body["user_attributes"]["workspace"]:
        cells[f"user_attributes.{attribute['attribute_name']}"] = attribute["attribute_value"]
    return [cells.get(column, "") for column in CSV_COLUMNS]


def write_csv(path: Path, bodies: Iterable[Json]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for body in bodies:
            writer.writerow(csv_row(body))
    return path


def user_key(stored: Json) -> str:
    """How a seeded user is found again: its mpid, else its identities."""
    if stored.get("mpid") is not None:
        return f"m:{stored['mpid']}"
    return "i:" + orjson.dumps(stored["identities"], option=orjson.OPT_SORT_KEYS).decode()


def expected(body: Json, table: dict[str, tuple[str, str]]) -> Json:
    """What `GET /_emulator/seeds` must show for a user sent from `body`: calculation type
    and cutoff filled from the manifests, spelled `max` and `yyyy-MM-dd`."""
    seeds = {}
    for seed in body["calculated_attributes"]["workspace"]:
        calculation_type, cutoff = table[seed["attribute_name"]]
        seeds[seed["attribute_name"]] = {
            "calculation_type": calculation_type,
            "cutoff_date": canonical_instant(cutoff)[:10],
            "seed": seed["seed"],
        }
    return {
        "mpid": body.get("mpid"),
        "identities": body.get("identities", {}),
        "environment": body["environment"],
        "calculated_attributes": seeds,
        "user_attributes": {
            a["attribute_name"]: a["attribute_value"] for a in body["user_attributes"]["workspace"]
        },
    }


def seeded(url: str, page: int = 25_000) -> dict[str, Json]:
    """Every user the emulator holds, by `user_key`."""
    found: dict[str, Json] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        offset = 0
        while True:
            response = client.get("/_emulator/seeds", params={"limit": page, "offset": offset})
            response.raise_for_status()
            batch = response.json()["users"]
            for stored in batch:
                found[user_key(stored)] = stored
            if len(batch) < page:
                return found
            offset += page


def index_of(stored: Json) -> int:
    """Which `user(index)` a user stored by the emulator was sent from."""
    if stored.get("mpid") is not None:
        return int(stored["mpid"]) - 10**15
    return int(stored["identities"]["customer_id"].removeprefix("c"))
