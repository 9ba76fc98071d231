"""The Seeding API: `POST /v2/calculatedattributes` (one user) and
`POST /v2/bulkcalculatedattributes` (many, all-or-nothing). Basic auth, 202 on success,
errors as `{"errors": [{"code": "BAD_REQUEST", "message": "<CA name>: <message>"}]}`.
Throttled in batches (users) per second by the seeding limits (`limits`); a CA written
less than `propagation_delay` seconds ago is not yet known to it."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator.limits import ACCELERATION, Verdict
from reconciler.emulator.log import note
from reconciler.emulator.responses import empty_response, error_response, json_response, s2s_items
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.store import SeedUser, seed_targets, store_users
from reconciler.emulator.values import (
    as_integer,
    is_number,
    one_of,
    parse_plain_date,
    utf16_length,
)

#: Events API limit on one request body; seeding requests count against it.
PERCENTAGE_USED = "X-mp-rate-limit-percentage-used"
RATE_LIMIT_EXCEEDED = "X-mp-rate-limit-exceeded"
#: The seeding page's words for a 429; the acceleration one is the emulator's (undocumented).
OVER_LIMIT = "You have exceeded your provisioned limit."
TOO_FAST = "You have exceeded your provisioned limit: the request rate grows too fast."

USER_IDENTITIES = frozenset(
    {"customer_id", "email", "facebook", "twitter", "google", "microsoft", "yahoo", "other"}
    | {f"other_id_{n}" for n in range(2, 11)}
    | {"mobile_number", "phone_number_2", "phone_number_3", "alias", "facebook_custom_audience_id"}
)
DEVICE_IDENTITIES = frozenset(
    {
        "android_id",
        "google_advertising_id",
        "ios_advertising_id",
        "ios_vendor_id",
        "roku_advertising_id",
        "roku_publisher_id",
        "fire_advertising_id",
        "microsoft_advertising_id",
        "microsoft_publisher_id",
    }
)
IDENTITY_TYPES = USER_IDENTITIES | DEVICE_IDENTITIES
ENVIRONMENTS = frozenset({"development", "production"})
CALCULATION_SYNONYMS = {"minimum": "min", "maximum": "max"}

NO_MATCH = "No matching calculated attribute definition found"
#: The seeding page's 400: "The request JSON was malformed JSON or had missing fields".
NOT_NUMERIC = "Seed value must be numeric"
#: The seed field each calculation type needs (the seeding page's format table).
SEED_FIELDS = {
    "count": "value",
    "sum": "value",
    "min": "value",
    "max": "value",
    "first_occurrence": "value",
    "last_occurrence": "value",
    "first_occurrence_timestamp": "value",
    "last_occurrence_timestamp": "value",
    "average": "key_value_pairs",
    "most_frequent": "key_value_pairs",
    "unique_list": "list",
    "unique_values_count": "list",
}
_INT64 = 2**63
#: Epoch milliseconds below this (March 1973) are almost surely seconds sent by mistake.
_MIN_EPOCH_MS = 10**11

#: The default service limits page, "Incoming Event Batches" (the seeding page's "Rate
#: Limits" points to it): user attributes per batch (a seeded user), and the characters of
#: a name and of a value, counted in UTF-16 code units. Its limits on lists do not apply:
#: the seeding page types `attribute_value` as a string.
MAX_USER_ATTRIBUTES = 100
MAX_ATTRIBUTE_NAME = 256
MAX_ATTRIBUTE_VALUE = 4096
#: A longer attribute name is cut short in a message.
_NAME_SHOWN = 60

#: Seedable CAs: (name, calculation type, cutoff `yyyy-MM-dd`) → workspace id.
Targets = dict[tuple[str, str, str], int]


def _value_problem(calculation_type: str, value: object) -> str | None:
    if calculation_type in ("first_occurrence", "last_occurrence"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return "Seed value must be a string or a number"
        return None
    if not is_number(value):
        return NOT_NUMERIC
    if calculation_type == "count":
        count = as_integer(value)
        if count is None or count < 0:
            return "Seed value must be a non-negative integer count"
    elif calculation_type.endswith("_timestamp"):
        millis = as_integer(value)
        if millis is None or millis < _MIN_EPOCH_MS:
            return "Seed value must be a UNIX epoch timestamp in milliseconds"
    return None


def _list_problem(calculation_type: str, value: object) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return "Seed list must be an array of strings"
    return None


def _pairs_problem(calculation_type: str, value: object) -> str | None:
    if not isinstance(value, dict):
        return "Seed key_value_pairs must be an object"
    if calculation_type == "average":
        if not is_number(value.get("sum")):
            return NOT_NUMERIC
        count = as_integer(value.get("count")) if is_number(value.get("count")) else None
        if count is None or count <= 0:
            return "Seed count must be a positive integer"
        return None
    if not all(is_number(count) for count in value.values()):
        return NOT_NUMERIC
    return None


#: How the value of each seed field is judged.
_FIELD_PROBLEMS = {
    "value": _value_problem,
    "list": _list_problem,
    "key_value_pairs": _pairs_problem,
}


def check_seed(calculation_type: str, seed: object) -> str | None:
    """Why `seed` does not suit `calculation_type` (canonical min/max), or None."""
    if not isinstance(seed, dict):
        return "seed is required"
    field = SEED_FIELDS[calculation_type]
    value = seed.get(field)
    if value is None:
        return f"Seed {field} is required for {calculation_type}"
    return _FIELD_PROBLEMS[field](calculation_type, value)


def check_user(raw: object, targets: Targets) -> tuple[SeedUser | None, list[str]]:
    """A user of a seeding request, ready to store, or every error it has."""
    if not isinstance(raw, dict):
        return None, ["Each user must be a JSON object"]
    errors: list[str] = []
    environment = raw.get("environment")
    if not one_of(environment, ENVIRONMENTS):
        errors.append("environment must be development or production")
    identities = raw.get("identities")
    mpid: int | None = None
    if raw.get("mpid") is not None:
        mpid = as_integer(raw["mpid"])
        if mpid is None or not -_INT64 <= mpid < _INT64:
            errors.append("mpid must be a 64-bit integer")
        key = f"m:{mpid}"
    elif isinstance(identities, dict) and identities:
        for name, value in identities.items():
            if name not in IDENTITY_TYPES:
                errors.append(f"Unknown identity type: {name}")
            elif not isinstance(value, str):
                errors.append(f"Identity {name} must be a string")
        key = "i:" + orjson.dumps(identities, option=orjson.OPT_SORT_KEYS).decode()
    else:
        errors.append("mpid or identities is required")
        key = ""
    seeds = _check_seeds(raw.get("calculated_attributes"), targets, errors)
    attributes = _check_attributes(raw.get("user_attributes"), errors)
    if errors:
        return None, errors
    stored_identities = identities if isinstance(identities, dict) else {}
    return SeedUser(
        key, mpid, orjson.dumps(stored_identities).decode(), str(environment), seeds, attributes
    ), []


def _check_seeds(
    raw: object, targets: Targets, errors: list[str]
) -> list[tuple[str, int, str, str, str]]:
    entries = raw.get("workspace") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        errors.append("calculated_attributes must hold a workspace array")
        return []
    seeds: list[tuple[str, int, str, str, str]] = []
    for entry in entries:
        name = entry.get("attribute_name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            errors.append("attribute_name is required")
            continue
        assert isinstance(entry, dict)
        sent_type = entry.get("calculation_type")
        calculation_type = ""
        if isinstance(sent_type, str):
            calculation_type = CALCULATION_SYNONYMS.get(sent_type, sent_type)
        cutoff = entry.get("cutoff_date", entry.get("cuttoff_date"))
        seed = entry.get("seed")
        # The common case first: a match implies a valid calculation type and cutoff.
        workspace = (
            targets.get((name, calculation_type, cutoff)) if isinstance(cutoff, str) else None
        )
        if calculation_type not in SEED_FIELDS:
            problem: str | None = "Invalid calculation type"
        elif workspace is None and parse_plain_date(cutoff) is None:
            problem = "cutoff_date must be a date in yyyy-MM-dd format"
        else:
            problem = check_seed(calculation_type, seed)
        if problem is None and workspace is None:
            problem = NO_MATCH
        if problem is not None:
            errors.append(f"{name}: {problem}")
        elif workspace is not None:
            seeds.append(
                (name, workspace, str(sent_type), str(cutoff), orjson.dumps(seed).decode())
            )
    return seeds


def _check_attributes(raw: object, errors: list[str]) -> list[tuple[str, str]]:
    if raw is None:
        return []
    entries = raw.get("workspace") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        errors.append("user_attributes must hold a workspace array")
        return []
    if len(entries) > MAX_USER_ATTRIBUTES:
        errors.append(
            f"A user may have at most {MAX_USER_ATTRIBUTES} user attributes, not {len(entries)}"
        )
    attributes: list[tuple[str, str]] = []
    for entry in entries:
        name = entry.get("attribute_name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            errors.append("User attribute attribute_name is required")
            continue
        assert isinstance(entry, dict)
        value = entry.get("attribute_value")
        shown = name if len(name) <= _NAME_SHOWN else name[:_NAME_SHOWN] + "..."
        if utf16_length(name) > MAX_ATTRIBUTE_NAME:
            errors.append(
                f"{shown}: user attribute name is longer than {MAX_ATTRIBUTE_NAME} characters"
            )
            continue
        # The seeding page's table: "attribute_value | string | Required"; its samples
        # agree ("Free"), so a number or boolean is refused, not read as text.
        if not isinstance(value, str):
            errors.append(f"{shown}: attribute_value must be a string")
            continue
        if utf16_length(value) > MAX_ATTRIBUTE_VALUE:
            errors.append(
                f"{shown}: user attribute value is longer than {MAX_ATTRIBUTE_VALUE} characters"
            )
            continue
        attributes.append((name, orjson.dumps(value).decode()))
    return attributes


class SeedingApi:
    """Route handlers for the two Seeding API paths."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/v2/calculatedattributes", self.single, methods=["POST"]),
            Route("/v2/bulkcalculatedattributes", self.bulk, methods=["POST"]),
        ]

    async def single(self, request: Request) -> Response:
        return await self._seed(request, bulk=False)

    async def bulk(self, request: Request) -> Response:
        return await self._seed(request, bulk=True)

    async def _seed(self, request: Request, *, bulk: bool) -> Response:
        refusal = self.state.credentials.check_basic(request)
        if refusal is not None:
            return refusal
        not_a_list = "The request body must be a JSON array of users."
        raw_users = await s2s_items(request, bulk=bulk, not_a_list=not_a_list)
        if isinstance(raw_users, Response):
            return raw_users
        note(seeds=_carried(raw_users))
        verdict = throttle(self.state, len(raw_users))
        if not verdict.admitted:
            return throttled(verdict)
        return with_usage(self._store(raw_users, bulk=bulk), verdict)

    def _store(self, raw_users: list[Any], *, bulk: bool) -> Response:
        """Check every user and store them all, or none with every error."""
        now = self.state.clock.now()
        delay = self.state.settings.propagation_delay
        with self.state.store.transaction() as conn:
            targets, propagating = seed_targets(
                conn, self.state.config.workspace_id, now - delay if delay > 0 else None
            )
            users: list[SeedUser] = []
            errors: list[dict[str, Any]] = []
            for raw in raw_users:
                user, problems = check_user(raw, targets)
                if user is not None and user.mpid in self.state.refused_mpids:
                    problems = [_refusal(user)]
                elif user is not None:
                    users.append(user)
                # The documented body: code and message, nothing naming the user (a
                # client learns which users were refused by splitting the request).
                errors += [{"code": "BAD_REQUEST", "message": problem} for problem in problems]
            if errors:
                return self._refused(errors, propagating)
            store_users(conn, users)
        self.state.stats.seed_users_accepted += len(users)
        return empty_response(202)

    def _refused(self, errors: list[dict[str, Any]], propagating: frozenset[str]) -> Response:
        """400 with every error; while CAs propagate, `propagation_status` for a request
        refused only because of them."""
        status = self.state.settings.propagation_status
        waiting = {f"{name}: {NO_MATCH}" for name in propagating}
        if status != 400 and all(error["message"] in waiting for error in errors):
            for error in errors:
                error["code"] = "NOT_FOUND"
            return json_response({"errors": errors}, status)
        return json_response({"errors": errors}, 400)


def _carried(raw_users: list[Any]) -> dict[str, Any]:
    """What the request log keeps of a seeding request: its users (their mpids, where they
    give one) and the CAs their seeds name."""
    names: set[str] = set()
    mpids: list[int] = []
    for raw in raw_users:
        if not isinstance(raw, dict):
            continue
        mpid = as_integer(raw.get("mpid")) if raw.get("mpid") is not None else None
        if mpid is not None:
            mpids.append(mpid)
        seeds = raw.get("calculated_attributes")
        entries = seeds.get("workspace") if isinstance(seeds, dict) else None
        for entry in entries if isinstance(entries, list) else ():
            name = entry.get("attribute_name") if isinstance(entry, dict) else None
            if isinstance(name, str):
                names.add(name)
    return {"users": len(raw_users), "cas": sorted(names), "mpids": mpids}


def _refusal(user: SeedUser) -> str:
    """The message for a user a test asked the emulator to refuse (`seed_refusals`)."""
    named = f"{user.seeds[0][0]}: " if user.seeds else ""
    return f"{named}Seed refused (the emulator's seed_refusals test setting)"


def throttle(state: EmulatorState, batches: int) -> Verdict:
    """The Events API limits' verdict on a request of `batches` batches: a seeding request
    (one batch a user) or an Events API one share them (the seeding page: seeds
    "contribute to the request rate of the Events API")."""
    limits = state.limits
    if not limits.active:
        return Verdict()
    verdict = limits.admit(state.clock.now(), batches)
    stats = state.stats
    if verdict.limit is not None:
        stats.seed_limited[verdict.limit] += 1
    elif verdict.percentage is not None:
        stats.peak_percentage_used = max(stats.peak_percentage_used, verdict.percentage)
    return verdict


def with_usage(response: Response, verdict: Verdict) -> Response:
    """A 2xx answer of a rate-limited route carries the percentage of the limit used."""
    if verdict.percentage is not None and response.status_code < 300:
        response.headers[PERCENTAGE_USED] = str(verdict.percentage)
    return response


def throttled(verdict: Verdict) -> Response:
    """429 as the default service limits page describes it."""
    assert verdict.limit is not None
    message = TOO_FAST if verdict.limit == ACCELERATION else OVER_LIMIT
    headers = {"Retry-After": str(verdict.retry_after), RATE_LIMIT_EXCEEDED: verdict.limit}
    return error_response(429, "TOO_MANY_REQUESTS", message, headers)
