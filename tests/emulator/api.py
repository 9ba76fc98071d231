"""A thin test client for the emulator's API over real HTTP: one method per documented call,
each returning the raw `httpx.Response` so tests can check statuses and bodies."""

from __future__ import annotations

import base64
import copy
from typing import Any

import httpx

from tests.support.emulator import EmulatorServer

WORKSPACE = 1234


def basic_auth(key: str = "emulator", secret: str = "emulator") -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class Api:
    """Calls the Platform and Seeding APIs of one emulator with valid credentials."""

    def __init__(self, server: EmulatorServer, workspace: int = WORKSPACE) -> None:
        self.server = server
        self.workspace = workspace
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.headers = {"Authorization": f"Bearer {server.token()}"}
        self.seed_headers = {"Authorization": basic_auth()}

    def close(self) -> None:
        self.http.close()

    def path(self, suffix: str = "") -> str:
        return self.server.platform_path(self.workspace, suffix)

    def list(self, name: str | None = None) -> httpx.Response:
        params = {} if name is None else {"name": name}
        return self.http.get(self.path(), params=params, headers=self.headers)

    def head(self, name: str | None = None) -> httpx.Response:
        params = {} if name is None else {"name": name}
        return self.http.head(self.path(), params=params, headers=self.headers)

    def create(self, body: Any) -> httpx.Response:
        return self.http.post(self.path(), json=body, headers=self.headers)

    def create_ok(self, body: Any) -> int:
        response = self.create(body)
        assert response.status_code == 201, response.text
        ca_id = response.json()
        assert isinstance(ca_id, int)
        return ca_id

    def get(self, ca_id: int) -> httpx.Response:
        return self.http.get(self.path(f"/{ca_id}"), headers=self.headers)

    def update(self, ca_id: int, body: Any) -> httpx.Response:
        return self.http.put(self.path(f"/{ca_id}"), json=body, headers=self.headers)

    def delete(self, ca_id: int) -> httpx.Response:
        return self.http.delete(self.path(f"/{ca_id}"), headers=self.headers)

    def activate(self, ca_id: int) -> httpx.Response:
        return self.http.post(self.path(f"/{ca_id}/activation"), headers=self.headers)

    def activation(self, ca_id: int) -> httpx.Response:
        return self.http.get(self.path(f"/{ca_id}/activation"), headers=self.headers)

    def discard_draft(self, ca_id: int) -> httpx.Response:
        return self.http.delete(self.path(f"/{ca_id}/draft"), headers=self.headers)

    def calculation(self, ca_id: int) -> httpx.Response:
        return self.http.get(self.path(f"/{ca_id}/calculation"), headers=self.headers)

    def seed(self, user: Any) -> httpx.Response:
        return self.http.post("/v2/calculatedattributes", json=user, headers=self.seed_headers)

    def seed_bulk(self, users: Any) -> httpx.Response:
        return self.http.post("/v2/bulkcalculatedattributes", json=users, headers=self.seed_headers)


def messages(response: httpx.Response) -> list[str]:
    """The messages of an `{"errors": [{"code", "message"}]}` body."""
    return [error["message"] for error in response.json()["errors"]]


def definition(**changes: Any) -> dict[str, Any]:
    """A valid draft definition (the list example's), with top-level keys replaced."""
    base: dict[str, Any] = {
        "recipe_type": "event",
        "datapoint": {
            "type": "event",
            "event_name": "Purchase",
            "attribute_name": "Total Amount",
            "event_type": "commerce_event",
            "custom_event_type": "purchase",
            "attribute_category": "product_attribute",
            "use_product_quantity": True,
        },
        "conditions": [
            {
                "type": "number",
                "operator": "equals",
                "attribute_name": "Checkout Step",
                "value": "22",
                "values": None,
                "min_value": None,
                "max_value": None,
            }
        ],
        "calculation_type": "sum",
        "time_period": {
            "type": "since",
            "date": "2019-10-01T00:00:00",
            "within": None,
            "within_unit": None,
        },
        "seeding": {"cutoff_date": "2019-10-02T00:00:00"},
    }
    base.update(copy.deepcopy(changes))
    return base


def ca_body(name: str = "LTV", **changes: Any) -> dict[str, Any]:
    """A valid create/update body named `name`, its definition's top-level keys replaced."""
    return {"name": name, "description": "", "draft_definition": definition(**changes)}
