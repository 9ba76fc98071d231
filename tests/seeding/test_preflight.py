"""The check before seeding: a live CA's cutoff is compared with the manifest's as a day in
UTC, whatever time of day or offset the API writes it with."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import orjson
import pytest

from reconciler.seeding import preflight
from reconciler.seeding.catalogue import Catalogue, SeedTarget
from reconciler.settings import Settings

SETTINGS = Settings(
    directory=Path("."),
    workspace_id=1,
    target="mparticle",
    prune=False,
    api_url="https://platform.test/platform/v2",
    auth_url="https://auth.test/oauth/token",
    s2s_url="https://s2s.test/s2s",
    rate_limit=None,
    client_id="id",
    client_secret="secret",
)


def refused(cutoff: str, wanted: date) -> dict[str, str]:
    definition = {"calculation_type": "sum", "seeding": {"cutoff_date": cutoff}}
    listed = [{"id": 7, "name": "LTV", "active_definition": definition}]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, content=orjson.dumps(listed))

    catalogue = Catalogue([SeedTarget("LTV", "sum", wanted, rolling=False, where="a.yaml:2")])
    found = preflight.check(SETTINGS, ["LTV"], catalogue, httpx.MockTransport(answer))
    return asyncio.run(found).refused


@pytest.mark.parametrize(
    ("cutoff", "day"),
    [
        ("2019-10-02T00:00:00", date(2019, 10, 2)),
        ("2019-10-02", date(2019, 10, 2)),
        ("2019-10-02T00:00:00Z", date(2019, 10, 2)),
        # Their first ten characters name the day before, and the day after.
        ("2019-10-01T22:00:00-02:00", date(2019, 10, 2)),
        ("2019-10-03T01:00:00+02:00", date(2019, 10, 2)),
        ("2019-10-02T23:00:00-02:00", date(2019, 10, 3)),
    ],
)
def test_a_live_cutoff_is_its_day_in_utc_however_written(cutoff: str, day: date) -> None:
    assert refused(cutoff, day) == {}


def test_a_live_cutoff_on_another_day_is_named_as_its_utc_day() -> None:
    reason = refused("2019-10-02T20:00:00-02:00", date(2019, 10, 3))
    assert reason["LTV"] == (
        "its definition in the workspace is sum with cutoff 2019-10-02, the manifests say sum "
        "with cutoff 2019-10-03"
    )


def test_a_live_cutoff_that_is_no_date_is_shown_as_it_is() -> None:
    reason = refused("soon", date(2019, 10, 3))
    assert reason["LTV"].endswith(
        "is sum with cutoff soon, the manifests say sum with cutoff 2019-10-03"
    )


@pytest.mark.parametrize("skew", [3600.0, -3600.0, 0.0])
def test_when_a_ca_was_written_is_read_on_the_server_s_clock(
    skew: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`last_modified_on` is the server's time; the propagation wait compares it with this
    machine's clock. Off by an hour, a CA written a minute ago read as written an hour ago
    (a bare 404 in the next minutes was then taken for bad users, and they were rejected)
    or in an hour (a bare 400 about bad users was retried until --seed-wait ran out). The
    answer's `Date` says the server's time: the two clocks are told apart."""
    ours = datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc).timestamp()
    theirs = ours + skew
    written = datetime.fromtimestamp(theirs - 60, timezone.utc).replace(tzinfo=None)
    definition = {"calculation_type": "sum", "seeding": {"cutoff_date": "2019-10-02"}}
    listed = [
        {
            "id": 7,
            "name": "LTV",
            "active_definition": definition,
            "last_modified_on": written.isoformat(timespec="milliseconds"),
        }
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        date = format_datetime(datetime.fromtimestamp(theirs, timezone.utc), usegmt=True)
        return httpx.Response(200, content=orjson.dumps(listed), headers={"date": date})

    monkeypatch.setattr(time, "time", lambda: ours)
    catalogue = Catalogue(
        [SeedTarget("LTV", "sum", date(2019, 10, 2), rolling=False, where="a.yaml:2")]
    )
    found = preflight.check(SETTINGS, ["LTV"], catalogue, httpx.MockTransport(answer))
    assert asyncio.run(found).written == {"LTV": ours - 60}
