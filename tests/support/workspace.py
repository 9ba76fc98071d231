"""Scenario building blocks: manifest directories on disk and a raw API hand for staging
live states (drafts, activations, UI edits) behind the reconciler's back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

WORKSPACE = 1234

PURCHASES: dict[str, Any] = {
    "calculation_type": "sum",
    "datapoint": {
        "event_name": "Purchase",
        "event_type": "commerce_event",
        "custom_event_type": "purchase",
        "attribute_name": "Total Amount",
    },
    "conditions": [
        {"type": "number", "operator": "equals", "attribute_name": "Checkout Step", "value": "22"}
    ],
    "time_period": {"type": "since", "date": "2024-01-01"},
    "seeding": {"cutoff_date": "2024-02-01"},
}
SESSIONS: dict[str, Any] = {
    "calculation_type": "count",
    "datapoint": {"event_type": "session_start"},
    "time_period": {"type": "within", "within": 30, "within_unit": "days"},
}


def ca(name: str, definition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "definition": definition or SESSIONS, **extra}


def write_manifests(
    directory: Path, cas: list[dict[str, Any]], settings: dict[str, Any] | None = None
) -> Path:
    """A manifest directory (JSON is YAML): reconciler.yaml plus one file of CAs."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text(
        json.dumps({"workspace_id": WORKSPACE, **(settings or {})})
    )
    (directory / "cas.yaml").write_text(json.dumps({"calculated_attributes": cas}, indent=1))
    return directory


def env_for(url: str) -> dict[str, str]:
    """Point the CLI at an emulator server (MPARTICLE_API_URL implies target mparticle)."""
    return {
        "MPARTICLE_API_URL": url,
        "MPARTICLE_AUTH_URL": f"{url}/oauth/token",
        "MPARTICLE_CLIENT_ID": "emulator",
        "MPARTICLE_CLIENT_SECRET": "emulator",
        "RECONCILER_RETRY_INITIAL_WAIT": "0.01",
        "RECONCILER_RETRY_MAX_WAIT": "0.2",
    }


def api_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """A manifest definition in the API's body shape (dates as datetimes)."""
    body: dict[str, Any] = json.loads(json.dumps(definition))
    body.setdefault("recipe_type", "event")
    body["datapoint"].setdefault("type", "event")
    period = body["time_period"]
    if period.get("date"):
        period["date"] = f"{period['date']}T00:00:00"
    if body.get("seeding"):
        body["seeding"]["cutoff_date"] = f"{body['seeding']['cutoff_date']}T00:00:00"
    return body


class RawApi:
    """Direct Platform API calls, as the mParticle UI or another tool would make them."""

    def __init__(
        self, url: str, workspace_id: int = WORKSPACE, client_secret: str = "emulator"
    ) -> None:
        # No connection kept between calls: most tests never close a RawApi, and a pooled
        # socket the collector finds later failed whichever test was running then
        # (ResourceWarning, an error under pytest's filterwarnings).
        no_pool = httpx.Limits(max_keepalive_connections=0)
        self.http = httpx.Client(base_url=url, timeout=30, limits=no_pool)
        token = self.http.post(
            "/oauth/token",
            json={
                "client_id": "emulator",
                "client_secret": client_secret,
                "audience": "https://api.mparticle.com",
                "grant_type": "client_credentials",
            },
        ).json()["access_token"]
        self.http.headers["authorization"] = f"Bearer {token}"
        self.base = f"/platform/v2/workspaces/{workspace_id}/calculatedattributes"

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> httpx.Response:
        assert response.is_success, f"{response.status_code} {response.text}"
        return response

    def create(self, name: str, definition: dict[str, Any], description: str = "") -> int:
        body = {
            "name": name,
            "description": description,
            "draft_definition": api_definition(definition),
        }
        return int(self._ok(self.http.post(self.base, json=body)).json())

    def update(
        self, ca_id: int, name: str, definition: dict[str, Any], description: str = ""
    ) -> None:
        body = {
            "name": name,
            "description": description,
            "draft_definition": api_definition(definition),
        }
        self._ok(self.http.put(f"{self.base}/{ca_id}", json=body))

    def activate(self, ca_id: int) -> None:
        self._ok(self.http.post(f"{self.base}/{ca_id}/activation"))

    def get(self, ca_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._ok(self.http.get(f"{self.base}/{ca_id}")).json()
        return result

    def list(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._ok(self.http.get(self.base)).json()
        return result

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {item["name"]: item for item in self.list()}


def checkpointed(database: Path) -> None:
    """The embedded database with everything in its one file (its WAL checkpointed and
    removed), as after a clean shutdown: what tests damage byte by byte."""
    import sqlite3

    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    for path in database.parent.iterdir():
        if path != database:
            path.unlink()
