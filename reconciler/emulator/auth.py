"""Credentials: the OAuth client-credentials token endpoint, Bearer tokens for the Platform
API and Basic auth for the Seeding API. No credentials → 401, wrong credentials → 403."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from reconciler.emulator.config import Clock, EmulatorConfig
from reconciler.emulator.responses import error_response, json_response

AUDIENCE = "https://api.mparticle.com"


class Credentials:
    """Issues and checks tokens. Tokens are signed rather than remembered, so they stay
    valid across restarts of an emulator that keeps its client id and secret."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._key = f"{config.client_id}:{config.client_secret}".encode()
        basic = f"{config.api_key}:{config.api_secret}".encode()
        self._basic = "Basic " + base64.b64encode(basic).decode()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:40]

    def issue(self) -> str:
        expires = int(self._clock.now()) + self._config.token_ttl
        payload = f"{expires}.{secrets.token_urlsafe(12)}"
        return f"{payload}.{self._sign(payload)}"

    def token_valid(self, token: str) -> bool:
        payload, _, signature = token.rpartition(".")
        expires, _, _nonce = payload.partition(".")
        if not expires.isdigit() or not hmac.compare_digest(signature, self._sign(payload)):
            return False
        return self._clock.now() < int(expires)

    def check_bearer(self, request: Request) -> Response | None:
        """None when the request carries a valid Bearer token, else the 401/403 answer."""
        header = request.headers.get("authorization")
        if not header:
            return error_response(401, "UNAUTHORIZED", "The authentication header is missing.")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self.token_valid(token.strip()):
            return error_response(403, "FORBIDDEN", "The access token is invalid or expired.")
        return None

    def check_basic(self, request: Request) -> Response | None:
        """None when the request carries the workspace's key and secret, else 401/403."""
        header = request.headers.get("authorization")
        if not header:
            return error_response(401, "UNAUTHORIZED", "The authentication header is missing.")
        if not self._basic_matches(header):
            return error_response(
                403, "FORBIDDEN", "The authentication header is present, but invalid."
            )
        return None

    def _basic_matches(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self._config.api_key}:{self._config.api_secret}"
        return hmac.compare_digest(given.encode(), expected.encode())

    async def token_endpoint(self, request: Request) -> Response:
        """`POST /oauth/token`: client credentials (JSON or form body) → a Bearer token."""
        body = await request.body()
        fields = _parse_form_or_json(body, request.headers.get("content-type", ""))
        if fields is None:
            return _oauth_error(400, "invalid_request", "The request body is malformed.")
        if fields.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "Only client_credentials is supported."
            )
        client_ok = hmac.compare_digest(
            str(fields.get("client_id", "")).encode(), self._config.client_id.encode()
        )
        secret_ok = hmac.compare_digest(
            str(fields.get("client_secret", "")).encode(), self._config.client_secret.encode()
        )
        if not (client_ok and secret_ok):
            return _oauth_error(401, "access_denied", "Unauthorized")
        audience = fields.get("audience")
        if audience != AUDIENCE:
            named = audience if isinstance(audience, str) else ""
            return _oauth_error(403, "access_denied", f"Service not found: {named}")
        return json_response(
            {
                "access_token": self.issue(),
                "expires_in": self._config.token_ttl,
                "token_type": "Bearer",
            }
        )


def _parse_form_or_json(body: bytes, content_type: str) -> dict[str, object] | None:
    if "application/x-www-form-urlencoded" in content_type:
        try:
            return dict(parse_qsl(body.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)
