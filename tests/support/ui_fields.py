"""The emulator behind a loopback proxy that plays mParticle's UI setting definition fields
newer than the docs: the emulator keeps no field it does not know (its README), so the
proxy keeps them and adds them to the definitions the emulator answers with.

The fields follow the definitions as the Platform API moves them: a PUT replaces the draft
(with what it sends, which holds none of them), an activation moves the draft's into use
and clears the draft, a draft discard or a delete drops them. Everything else is the
emulator's own answer, passed through.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support.servers import Request, response, running

#: `/platform/v2/workspaces/N/calculatedattributes`, then a CA's id and what of it.
_ROUTE = re.compile(r"/calculatedattributes(?:/(?P<id>[0-9]+)(?P<what>/[a-z]+)?)?(?:\?.*)?$")
#: The request headers the emulator reads.
_FORWARDED = ("authorization", "content-type")

Definition = str  # "active_definition" or "draft_definition"


class UiFields:
    """The proxy's state: the unknown fields of each CA's definitions (in its data point)."""

    def __init__(self, emulator_url: str) -> None:
        self.emulator_url = emulator_url
        self.url = ""
        self.fields: dict[tuple[int, Definition], dict[str, Any]] = {}

    def set(self, ca_id: int, definition: Definition, **fields: Any) -> None:
        """What a user does in the UI: the CA's definition now holds `fields` (only)."""
        self.fields[(ca_id, definition)] = fields

    async def answer(self, request: Request, writer: asyncio.StreamWriter) -> None:
        headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
        async with httpx.AsyncClient(base_url=self.emulator_url, timeout=30) as http:
            answer = await http.request(
                request.method, request.path, content=request.body, headers=headers
            )
        body = answer.content
        route = _ROUTE.search(request.path.split("?")[0])
        if route is not None and answer.is_success:
            ca_id = int(route["id"]) if route["id"] else None
            if request.method == "GET" and route["what"] is None:
                body = json.dumps(self._shown(answer.json())).encode()
            elif ca_id is not None:
                self._follow(request.method, ca_id, route["what"])
        kept = {"content-type": answer.headers.get("content-type", "application/json")}
        writer.write(response(answer.status_code, body, kept))

    def _follow(self, method: str, ca_id: int, what: str | None) -> None:
        """The fields after a write the API carried out."""
        draft, active = (ca_id, "draft_definition"), (ca_id, "active_definition")
        if method == "PUT" and what is None:
            self.fields.pop(draft, None)
        elif method == "POST" and what == "/activation":
            moved = self.fields.pop(draft, None)
            self.fields.pop(active, None)
            if moved is not None:
                self.fields[active] = moved
        elif method == "DELETE" and what == "/draft":
            self.fields.pop(draft, None)
        elif method == "DELETE" and what is None:
            self.fields.pop(draft, None)
            self.fields.pop(active, None)

    def _shown(self, data: Any) -> Any:
        """A list or single GET answer with the fields added to the definitions holding them."""
        for item in data if isinstance(data, list) else [data]:
            for definition in ("active_definition", "draft_definition"):
                held = self.fields.get((item["id"], definition))
                shown = item.get(definition)
                if held is not None and shown is not None:
                    # The list spells the key `datapoint`, a single GET `data_point`.
                    key = "datapoint" if "datapoint" in shown else "data_point"
                    shown[key].update(held)
        return data


@contextmanager
def ui_fields(emulator_url: str) -> Iterator[UiFields]:
    """A proxy to the emulator at `emulator_url` for the block; point the CLI at its `url`."""
    state = UiFields(emulator_url)
    with running(state.answer) as server:
        state.url = server.url
        yield state
