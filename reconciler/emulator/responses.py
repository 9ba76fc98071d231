"""JSON responses in the API's shapes: bare JSON bodies, and errors as
`{"errors": [{"code": ..., "message": ...}]}`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
from starlette.responses import Response


def json_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_response(
    status: int, code: str, messages: str | Iterable[str], headers: Mapping[str, str] | None = None
) -> Response:
    """An error answer carrying one error object per message."""
    if isinstance(messages, str):
        messages = [messages]
    errors = [{"code": code, "message": message} for message in messages]
    return json_response({"errors": errors}, status, headers)


def empty_response(status: int = 204) -> Response:
    return Response(status_code=status)
