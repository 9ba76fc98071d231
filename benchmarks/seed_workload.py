"""The seeding benchmark's workload: a manifest directory of seedable CAs (one per seed
shape), deterministic users seeding all of them, as JSONL or CSV, and a workspace in an
emulator holding those CAs."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

Json = dict[str, Any]
CUTOFF = "2024-01-01"
ENVIRONMENT = "development"

#: name -> (calculation type, attribute): one CA per seed shape of the seeding page.
CAS = {
    "LTV": ("sum", "Amount"),
    "Orders": ("count", None),
    "Average Order": ("average", "Amount"),
    "First Seen": ("first_occurrence_timestamp", None),
    "Last Search": ("last_occurrence", "Term"),
    "Products Viewed": ("unique_list", "Product"),
    "Favourite Category": ("most_frequent", "Category"),
}


def definition(calculation_type: str, attribute: str | None) -> Json:
    point: Json = {"type": "event", "event_type": "custom_event", "event_name": "Purchase"}
    point["custom_event_type"] = "transaction"
    if attribute:
        point["attribute_name"] = attribute
    return {
        "recipe_type": "event",
        "calculation_type": calculation_type,
        "datapoint": point,
        "time_period": {"type": "since", "date": "2023-01-01"},
        "seeding": {"cutoff_date": CUTOFF},
    }


def write_manifests(directory: Path, workspace_id: int) -> Path:
    """reconciler.yaml and one file with every CA (JSON is YAML)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text(f"workspace_id: {workspace_id}\n")
    cas = [{"name": name, "definition": definition(*kind)} for name, kind in CAS.items()]
    (directory / "cas.yaml").write_bytes(orjson.dumps({"calculated_attributes": cas}))
    return directory


def create_workspace(url: str, token: str, workspace_id: int) -> None:
    """Create and activate every CA in the emulator at `url`."""
    base = f"{url}/platform/v2/workspaces/{workspace_id}/calculatedattributes"
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30, headers=headers) as client:
        for name, kind in CAS.items():
            body = {"name": name, "description": "", "draft_definition": definition(*kind)}
            created = client.post(base, json=body)
            created.raise_for_status()
            client.post(f"{base}/{created.json()}/activation").raise_for_status()


def _seeds(n: int) -> dict[str, Json]:
    return {
        "LTV": {"value": round(n * 1.25, 2)},
        "Orders": {"value": n % 50},
        "Average Order": {"key_value_pairs": {"sum": n * 2.5, "count": n % 7 + 1}},
        "First Seen": {"value": 1_600_000_000_000 + n},
        "Last Search": {"value": f"term {n}"},
        "Products Viewed": {"list": [f"p{n % 13}", f"p{n % 17}"]},
        "Favourite Category": {"key_value_pairs": {f"c{n % 5}": n % 9 + 1}},
    }


def user(n: int) -> Json:
    """User `n` in the API's single-user body shape (cutoff and type left to the manifests)."""
    seeds = [{"attribute_name": name, "seed": seed} for name, seed in _seeds(n).items()]
    return {
        "environment": ENVIRONMENT,
        "mpid": 10**15 + n,
        "calculated_attributes": {"workspace": seeds},
        "user_attributes": {
            "workspace": [
                {"attribute_name": "Tier", "attribute_value": "gold" if n % 2 else "free"}
            ]
        },
    }


def users(count: int) -> Iterator[Json]:
    return (user(n) for n in range(count))


def write_jsonl(path: Path, bodies: Iterable[Json]) -> Path:
    with path.open("wb") as file:
        for body in bodies:
            file.write(orjson.dumps(body) + b"\n")
    return path


def write_csv(path: Path, count: int) -> Path:
    """The same users under the CSV convention (docs/seeding.md)."""
    seed_columns = [
        "LTV", "Orders", "Average Order.sum", "Average Order.count", "First Seen",
        "Last Search", "Products Viewed", "Favourite Category",
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["mpid", "environment", *seed_columns, "user_attributes.Tier"])
        for n in range(count):
            seeds = _seeds(n)
            pairs = seeds["Average Order"]["key_value_pairs"]
            cells = [
                seeds["LTV"]["value"], seeds["Orders"]["value"], pairs["sum"], pairs["count"],
                seeds["First Seen"]["value"], seeds["Last Search"]["value"],
                orjson.dumps(seeds["Products Viewed"]["list"]).decode(),
                orjson.dumps(seeds["Favourite Category"]["key_value_pairs"]).decode(),
            ]  # fmt: skip
            tier = "gold" if n % 2 else "free"
            writer.writerow([10**15 + n, ENVIRONMENT, *cells, tier])
    return path
