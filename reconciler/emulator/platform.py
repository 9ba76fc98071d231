"""The Platform API's ten Calculated Attributes calls under
`/platform/v2/workspaces/{workspace_id}/calculatedattributes`: Bearer auth, the documented
statuses and response shapes, and the business rules (422)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import messages as m
from reconciler.emulator.log import note
from reconciler.emulator.responses import empty_response, error_response, json_response
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.store import (
    Ca,
    count_active,
    delete_ca,
    get_ca,
    insert_ca,
    list_cas,
    name_taken,
    save_ca,
)
from reconciler.emulator.validation import check_body
from reconciler.emulator.values import timestamp, utc_datetime

BASE = "/platform/v2/workspaces/{workspace_id:int}/calculatedattributes"

Endpoint = Callable[[Request], Awaitable[Response]]
#: SQLite integers are 64-bit: a larger id in a path cannot name anything.
MAX_ID = 2**63 - 1


def render_definition(definition: dict[str, Any] | None, point_key: str) -> Any:
    """A stored definition as the API shows it; the list and the single GET disagree on
    the data point's key (`datapoint` vs `data_point`), as the docs' examples do."""
    if definition is None:
        return None
    return {(point_key if key == "datapoint" else key): v for key, v in definition.items()}


def render_ca(ca: Ca, *, single: bool) -> dict[str, Any]:
    """A CA in the shape of the docs' list example (`single=False`) or single GET example."""
    point_key = "data_point" if single else "datapoint"
    shown = {
        "id": ca.id,
        "name": ca.name,
        "description": ca.description,
        "created_by": ca.created_by,
        "created_on": timestamp(ca.created_on, zulu=single),
        "last_modified_on": timestamp(ca.last_modified_on, zulu=single),
        "last_modified_by": ca.last_modified_by,
        "active_definition": render_definition(ca.active_definition, point_key),
        "draft_definition": render_definition(ca.draft_definition, point_key),
        "audience_count": ca.audience_count,
        "activated_on": None if ca.activated_on is None else timestamp(ca.activated_on),
        "activated_by": ca.activated_by,
    }
    if ca.audience_count_withheld:
        del shown["audience_count"]
    return shown


class MalformedJson(ValueError):
    """A request body that is not JSON; `message` says where the parser stopped."""

    def __init__(self, error: orjson.JSONDecodeError) -> None:
        super().__init__(str(error))
        self.message = m.MALFORMED_JSON.format(error=error)


def _not_found(request: Request) -> Response:
    if request.method == "HEAD":
        return empty_response(404)
    return error_response(404, "NOT_FOUND", m.NOT_FOUND)


def _invalid(errors: list[str], status: int = 400) -> Response:
    return error_response(status, "VALIDATION_ERROR", errors)


#: The business rules and the status each gets unless `business_rule_status` says otherwise.
BUSINESS_RULES = {m.NAME_UNIQUE: 400, m.NAME_READ_ONLY: 422, m.ACTIVE_LIMIT: 422, m.NO_DRAFT: 422}


class PlatformApi:
    """Route handlers for the Platform API; every write is one store transaction."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route(BASE, self._guard(self.collection), methods=["GET", "POST"]),
            Route(BASE + "/{id:int}", self._guard(self.item), methods=["GET", "PUT", "DELETE"]),
            Route(
                BASE + "/{id:int}/activation",
                self._guard(self.activation),
                methods=["GET", "POST"],
            ),
            Route(BASE + "/{id:int}/draft", self._guard(self.draft), methods=["DELETE"]),
            Route(BASE + "/{id:int}/calculation", self._guard(self.calculation)),
        ]

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        """Auth first (401/403), then the workspace (404), then the endpoint."""

        async def guarded(request: Request) -> Response:
            refusal = self.state.credentials.check_bearer(request)
            if refusal is not None:
                return refusal
            served = self.state.config.workspace_id
            workspace = request.path_params["workspace_id"]
            if (served is not None and workspace != served) or workspace > MAX_ID:
                if request.method == "HEAD":
                    return empty_response(404)
                return error_response(404, "NOT_FOUND", m.WORKSPACE_NOT_FOUND)
            if request.path_params.get("id", 0) > MAX_ID:
                return _not_found(request)
            if "id" in request.path_params:
                self._note(workspace, request.path_params["id"])
            return await endpoint(request)

        guarded.__name__ = endpoint.__name__
        return guarded

    def _note(self, workspace: int, ca_id: int) -> None:
        """The request log names the CA a call concerns (as it was before the call)."""
        with self.state.store.read() as conn:
            ca = get_ca(conn, workspace, ca_id)
        note(ca={"id": ca_id, "name": ca.name if ca is not None else None})

    def _refuse(self, errors: list[str]) -> Response:
        """The validation errors of a request: 400, or for a business rule alone the status
        the settings choose."""
        status = 400
        if len(errors) == 1 and errors[0] in BUSINESS_RULES:
            chosen = self.state.settings.business_rule_status
            status = BUSINESS_RULES[errors[0]] if chosen is None else chosen
        return _invalid(errors, status)

    @property
    def _by(self) -> str:
        return self.state.config.client_id

    async def _json(self, request: Request) -> object:
        """The parsed body; a body that is not JSON raises MalformedJson."""
        try:
            return orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise MalformedJson(exc) from None

    async def collection(self, request: Request) -> Response:
        workspace = request.path_params["workspace_id"]
        if request.method == "POST":
            try:
                body = await self._json(request)
            except MalformedJson as exc:
                return _invalid([exc.message])
            return self._create(workspace, body)
        name = request.query_params.get("name") or None
        with self.state.store.read() as conn:
            cas = list_cas(conn, workspace, name)
        if request.method == "HEAD":
            return empty_response(204 if cas else 404)
        return json_response([render_ca(ca, single=False) for ca in cas])

    def _create(self, workspace: int, body: object) -> Response:
        now = self.state.clock.now()
        with self.state.store.transaction() as conn:
            parsed, errors = check_body(
                body, retention_days=self.state.settings.retention_days, now=utc_datetime(now)
            )
            name = body.get("name") if isinstance(body, dict) else None
            note(ca={"id": None, "name": name if isinstance(name, str) else None})
            if isinstance(name, str) and name_taken(conn, workspace, name, None):
                errors.append(m.NAME_UNIQUE)
            if errors or parsed is None:
                return self._refuse(errors)
            ca = Ca(
                id=0,
                workspace_id=workspace,
                name=parsed.name,
                description=parsed.description or "",
                created_on=now,
                created_by=self._by,
                last_modified_on=now,
                last_modified_by=self._by,
                draft_definition=parsed.definition,
            )
            ca_id = insert_ca(conn, ca)
        note(ca={"id": ca_id, "name": parsed.name})
        return json_response(ca_id, 201)

    async def item(self, request: Request) -> Response:
        workspace, ca_id = request.path_params["workspace_id"], request.path_params["id"]
        if request.method == "PUT":
            try:
                body = await self._json(request)
            except MalformedJson as exc:
                return _invalid([exc.message])
            return self._update(workspace, ca_id, body)
        if request.method == "DELETE":
            with self.state.store.transaction() as conn:
                ca = get_ca(conn, workspace, ca_id)
                if ca is None:
                    return _not_found(request)
                delete_ca(conn, ca)
            return empty_response()
        with self.state.store.read() as conn:
            ca = get_ca(conn, workspace, ca_id)
        if ca is None:
            return _not_found(request)
        return json_response(render_ca(ca, single=True))

    def _update(self, workspace: int, ca_id: int, body: object) -> Response:
        now = self.state.clock.now()
        with self.state.store.transaction() as conn:
            ca = get_ca(conn, workspace, ca_id)
            if ca is None:
                return error_response(404, "NOT_FOUND", m.NOT_FOUND)
            parsed, errors = check_body(
                body, retention_days=self.state.settings.retention_days, now=utc_datetime(now)
            )
            name = body.get("name") if isinstance(body, dict) else None
            if isinstance(name, str) and name_taken(conn, workspace, name, ca_id):
                errors.append(m.NAME_UNIQUE)
            if errors or parsed is None:
                return self._refuse(errors)
            if parsed.name != ca.name and ca.activated_on is not None:
                return self._refuse([m.NAME_READ_ONLY])
            before = replace(ca)
            ca.name = parsed.name
            if parsed.description is not None:
                ca.description = parsed.description
            ca.draft_definition = parsed.definition
            ca.last_modified_on, ca.last_modified_by = now, self._by
            save_ca(conn, ca, before)
        return empty_response()

    async def activation(self, request: Request) -> Response:
        workspace, ca_id = request.path_params["workspace_id"], request.path_params["id"]
        if request.method == "POST":
            return self._activate(workspace, ca_id)
        with self.state.store.read() as conn:
            ca = get_ca(conn, workspace, ca_id)
        if ca is None:
            return _not_found(request)
        return json_response(
            {
                "calculated_attribute_id": ca.id,
                "is_active": ca.active_definition is not None,
                "activated_on": None if ca.activated_on is None else timestamp(ca.activated_on),
                "activated_by": ca.activated_by,
            }
        )

    def _activate(self, workspace: int, ca_id: int) -> Response:
        now = self.state.clock.now()
        with self.state.store.transaction() as conn:
            ca = get_ca(conn, workspace, ca_id)
            if ca is None:
                return error_response(404, "NOT_FOUND", m.NOT_FOUND)
            if ca.draft_definition is None:
                return self._refuse([m.NO_DRAFT])
            limit = self.state.settings.max_active
            if ca.active_definition is None and count_active(conn, workspace) >= limit:
                return self._refuse([m.ACTIVE_LIMIT])
            before = replace(ca)
            ca.active_definition, ca.draft_definition = ca.draft_definition, None
            ca.activated_on, ca.activated_by = now, self._by
            ca.last_modified_on, ca.last_modified_by = now, self._by
            ca.revision_id += 1
            ca.calculation_started = now
            save_ca(conn, ca, before)
        return empty_response()

    async def draft(self, request: Request) -> Response:
        workspace, ca_id = request.path_params["workspace_id"], request.path_params["id"]
        now = self.state.clock.now()
        with self.state.store.transaction() as conn:
            ca = get_ca(conn, workspace, ca_id)
            if ca is None:
                return _not_found(request)
            before = replace(ca)
            ca.draft_definition = None
            ca.last_modified_on, ca.last_modified_by = now, self._by
            save_ca(conn, ca, before)
        return empty_response()

    async def calculation(self, request: Request) -> Response:
        workspace, ca_id = request.path_params["workspace_id"], request.path_params["id"]
        with self.state.store.read() as conn:
            ca = get_ca(conn, workspace, ca_id)
        if ca is None:
            return _not_found(request)
        percent, completion = 0, None
        if ca.calculation_started is not None:
            seconds = self.state.settings.calculation_seconds
            elapsed = self.state.clock.now() - ca.calculation_started
            percent = 100 if seconds <= 0 else max(0, min(100, int(elapsed * 100 // seconds)))
            completion = timestamp(ca.calculation_started + max(seconds, 0))
        return json_response(
            {
                "id": ca.id,
                "name": ca.name,
                "revision_id": ca.revision_id,
                "is_calculated": percent >= 100,
                "calculation_percent_complete": percent,
                "estimated_completion_time": completion,
            }
        )
