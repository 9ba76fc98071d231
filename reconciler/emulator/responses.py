"""JSON responses in the API's shapes: bare JSON bodies, and errors as
`{"errors": [{"code": ..., "message": ...}]}`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from reconciler.emulator.messages import MALFORMED_JSON

#: The S2S endpoints (Seeding and Events API) take bodies shorter than this: the default
#: service limits say "the total request size must be under 256kb", read with the smaller
#: kb (1,000 bytes), so that a client kept under it is under 256 KiB as well.
MAX_BODY_BYTES = 256_000


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


async def s2s_items(request: Request, *, bulk: bool, not_a_list: str) -> list[Any] | Response:
    """The items of a single or bulk S2S request (one object, or an array of them), or the
    400/413 answer refusing the body: too large, not JSON, or not an array when bulk."""
    body = await request.body()
    if len(body) >= MAX_BODY_BYTES:
        message = f"The request body must be under {MAX_BODY_BYTES} bytes."
        return error_response(413, "PAYLOAD_TOO_LARGE", message)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return error_response(400, "BAD_REQUEST", MALFORMED_JSON.format(error=exc))
    if not bulk:
        return [parsed]
    if not isinstance(parsed, list):
        return error_response(400, "BAD_REQUEST", not_a_list)
    return parsed
