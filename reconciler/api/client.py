"""The Platform API client: every Calculated Attributes call, over any httpx transport.

Fetch step of the flow (`list` -> live models) and the hands of the applier. OAuth
client-credentials token cached and refreshed before expiry; one refresh on a 401.
Paths: `{api_url}/platform/v2/workspaces/{workspace_id}/calculatedattributes`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import from_json

from reconciler.api import secrets
from reconciler.api.answers import http_date
from reconciler.api.http import Http, shown_url
from reconciler.errors import ApiError, AuthError, NotFoundError
from reconciler.models import LiveCA
from reconciler.models.live import read_live, read_live_json

AUDIENCE = "https://api.mparticle.com"
#: Refresh this long before the token expires (tokens last hours; issuing takes seconds).
REFRESH_MARGIN = 300.0
#: How a refusal names the credentials when the caller does not say where they came from.
CREDENTIAL_VARIABLES = "MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET"
#: Where a workspace id may be set, when the caller does not say which one it used.
WORKSPACE_SOURCES = "workspace_id in reconciler.yaml, MPARTICLE_WORKSPACE_ID or --workspace-id"


# The answers of activation and calculation status calls (apply and seed make them):
# built when first read, not by every command that imports the client.
class _Status(BaseModel):
    """Tolerant as the live models are: unknown fields are ignored, and a field sent as
    null reads as absent (its default), since the docs show every field filled in."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class ActivationStatus(_Status):
    calculated_attribute_id: int | None = None
    is_active: bool = False
    activated_on: str | None = None
    activated_by: str | None = None


class CalculationStatus(_Status):
    id: int | None = None
    name: str | None = None
    revision_id: int | None = None
    is_calculated: bool = False
    calculation_percent_complete: float = 0
    estimated_completion_time: str | None = None


StatusT = TypeVar("StatusT", bound=_Status)


class TokenSource:
    """An OAuth client-credentials token, fetched once and shared by concurrent calls;
    `credentials` names the variables the id and secret were read from, for a refusal."""

    def __init__(
        self,
        http: Http,
        auth_url: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.monotonic,
        credentials: str = CREDENTIAL_VARIABLES,
    ) -> None:
        self._http = http
        self._clock = clock
        self._auth_url = auth_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.credentials = credentials
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetched = 0

    async def get(self, *, force: bool = False) -> str:
        async with self._lock:
            if force or self._token is None or self._clock() >= self._expires_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    async def _fetch(self) -> None:
        try:
            response = await self._http.request(
                "POST",
                self._auth_url,
                json={
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "audience": AUDIENCE,
                    "grant_type": "client_credentials",
                },
                idempotent=True,
            )
        except AuthError as exc:
            # A 401 here means the id and secret were sent and refused, not that none were.
            raise exc.saying(
                "authentication failed: the token endpoint refused the client id or secret "
                f"(check {self.credentials})"
            ) from None
        self.fetched += 1
        token: object = None
        try:
            body = orjson.loads(response.content)
            token = body["access_token"]
            # Absent: an hour. 0 (or less) means the token is good for this request only.
            given = body.get("expires_in")
            lifetime = 3600.0 if given is None else float(given)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            token = None
        if not isinstance(token, str) or not token:  # also null or "": nothing to send
            raise AuthError(
                "the token endpoint answered without an access_token",
                method="POST",
                path=shown_url(self._auth_url),
            )
        secrets.learn(token)  # a gateway may quote it back: hidden like the secret
        self._token = token
        self._expires_at = self._clock() + max(lifetime - REFRESH_MARGIN, lifetime / 2)


def _created_id(content: bytes, shown: str, redact: secrets.Redactor) -> int:
    """The create call answers with the new id: a bare integer (or, leniently, {"id": n});
    anything else is quoted in the error, its secrets hidden."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        body = content.decode("utf-8", "replace").strip()
    if isinstance(body, dict):
        body = body.get("id")
    if isinstance(body, bool):
        body = None
    if isinstance(body, int):
        return body
    if isinstance(body, str) and body.strip().isdigit():
        return int(body)
    said = redact(repr(content[:200]))
    raise ApiError(f"create answered without an id: {said}", method="POST", path=shown)


class PlatformClient:
    """The ten Calculated Attributes calls of one workspace."""

    def __init__(
        self,
        http: Http,
        *,
        api_url: str,
        workspace_id: int,
        auth_url: str,
        client_id: str,
        client_secret: str,
        credentials: str = CREDENTIAL_VARIABLES,
        workspace_from: str | None = None,
    ) -> None:
        self.http = http
        self.workspace_id = workspace_id
        #: Where the workspace id was set, for the message when the API does not know it.
        self.workspace_from = workspace_from
        self.base = (
            f"{api_url.rstrip('/')}/platform/v2/workspaces/{workspace_id}/calculatedattributes"
        )
        self.tokens = TokenSource(http, auth_url, client_id, client_secret, credentials=credentials)
        #: The server's clock minus ours, in seconds, from the last answer's `Date` (None
        #: before an answer with one): the API's own times (`last_modified_on`) are on
        #: its clock, and this machine's may be off by minutes or an hour.
        self.clock_skew: float | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    def shown(self, suffix: str = "") -> str:
        """How messages name a call: the host, and the path with the workspace elided."""
        return shown_url(self.base, f"/platform/.../calculatedattributes{suffix}")

    async def _call(
        self,
        method: str,
        suffix: str = "",
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        idempotent: bool,
        purpose: str = "",
    ) -> bytes:
        """The answer's body; `purpose` (what the call is for) names it in retry notices."""
        url = self.base + suffix
        if params:
            url += "?" + urlencode(params)
        path = f"/platform/.../calculatedattributes{suffix}"  # as `shown` names it
        for attempt in range(2):
            token = await self.tokens.get(force=attempt > 0)
            try:
                response = await self.http.request(
                    method,
                    url,
                    path=path,
                    json=json,
                    headers={"authorization": f"Bearer {token}", "accept": "application/json"},
                    idempotent=idempotent,
                    purpose=purpose,
                )
            except AuthError as exc:
                if attempt == 0:
                    continue  # the token expired or was revoked: fetch a new one, once
                # A token was sent, fresh from the token endpoint: not missing credentials
                # but a client without access to this workspace (or a revoked one).
                raise exc.saying(
                    "authentication failed: the API refused the access token, a freshly "
                    f"issued one too (check that the API client of {self.tokens.credentials} "
                    f"may use workspace {self.workspace_id})"
                ) from None
            sent = http_date(response.headers.get("date"))
            if sent is not None:
                self.clock_skew = sent - time.time()
            return response.content
        raise AssertionError("unreachable")

    async def list(self, name: str | None = None, *, purpose: str = "") -> list[LiveCA]:
        """Every CA of the workspace (one request), or those with exactly this name."""
        content = await self.list_json(name, purpose=purpose)
        found = read_live_json(content)
        if found is not None:
            return found
        try:  # the answer has a problem: read it again, to say which (a rare, slower path)
            data = from_json(content)
        except ValueError as exc:
            raise ApiError(
                f"the CA list could not be read: not JSON ({exc})", method="GET", path=self.shown()
            ) from None
        return read_live(data, f"the CA list ({self.shown()})")

    async def list_json(self, name: str | None = None, *, purpose: str = "") -> bytes:
        """The list call's answer as sent, for readers of fields the models leave out."""
        params = {"name": name} if name else None
        try:
            return await self._call("GET", params=params, idempotent=True, purpose=purpose)
        except NotFoundError as exc:
            # The list is the workspace itself: its 404 is about the workspace, whose id
            # the shown path leaves out.
            where = f"set by {self.workspace_from}" if self.workspace_from else WORKSPACE_SOURCES
            raise exc.saying(
                f"workspace {self.workspace_id} was not found: check the workspace id "
                f"({where}) and the API URL"
            ) from None

    async def find(self, name: str, *, purpose: str = "") -> LiveCA | None:
        """The CA with this exact name, if any."""
        return next((ca for ca in await self.list(name, purpose=purpose) if ca.name == name), None)

    async def exists(self, name: str) -> bool:
        try:
            await self._call("HEAD", params={"name": name}, idempotent=True)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def get(self, ca_id: int, *, purpose: str = "") -> LiveCA:
        content = await self._call("GET", f"/{ca_id}", idempotent=True, purpose=purpose)
        try:
            data = from_json(content)
        except ValueError:
            raise ApiError(
                f"CA {ca_id} could not be read from the API's answer",
                method="GET",
                path=self.shown(f"/{ca_id}"),
            ) from None
        return read_live([data], f"CA {ca_id} ({self.shown(f'/{ca_id}')})")[0]

    async def create(self, body: dict[str, Any], *, purpose: str = "") -> int:
        """POST a new CA (name, description, draft_definition); its new id."""
        content = await self._call("POST", json=body, idempotent=False, purpose=purpose)
        return _created_id(content, self.shown(), self.http.redact)

    async def update(self, ca_id: int, body: dict[str, Any], *, purpose: str = "") -> None:
        """PUT name, description and draft_definition (the draft; never the active one)."""
        await self._call("PUT", f"/{ca_id}", json=body, idempotent=True, purpose=purpose)

    async def delete(self, ca_id: int, *, purpose: str = "") -> None:
        await self._call("DELETE", f"/{ca_id}", idempotent=True, purpose=purpose)

    async def activate(self, ca_id: int, *, purpose: str = "") -> None:
        """Move the draft into the active definition. Not idempotent: a second call finds
        no draft, so callers verify by re-reading after an ambiguous failure."""
        await self._call("POST", f"/{ca_id}/activation", idempotent=False, purpose=purpose)

    async def activation(self, ca_id: int) -> ActivationStatus:
        suffix = f"/{ca_id}/activation"
        content = await self._call("GET", suffix, idempotent=True)
        return self._status(
            ActivationStatus, content, f"the activation status of CA {ca_id}", suffix
        )

    async def discard_draft(self, ca_id: int, *, purpose: str = "") -> None:
        await self._call("DELETE", f"/{ca_id}/draft", idempotent=True, purpose=purpose)

    async def calculation(self, ca_id: int) -> CalculationStatus:
        suffix = f"/{ca_id}/calculation"
        content = await self._call("GET", suffix, idempotent=True)
        return self._status(
            CalculationStatus, content, f"the calculation status of CA {ca_id}", suffix
        )

    def _status(self, model: type[StatusT], content: bytes, what: str, suffix: str) -> StatusT:
        """A status answer read, or an ApiError saying which call's answer was unreadable
        (not JSON, a proxy's HTML page, a field of another type) and where, not a failure
        of reconciler. The body itself is not quoted: a gateway's page may echo anything."""
        try:
            return model.model_validate_json(content)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top)"
            raise ApiError(
                f"{what} could not be read from the API's answer: {where}: {first['msg']}",
                method="GET",
                path=self.shown(suffix),
            ) from None
