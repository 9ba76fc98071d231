"""The Seeding API's limits: speed in batches (users) per second over a sliding window,
acceleration (how much the rate may grow from one window to the next), and live traffic
sharing the budget. The model is judged at explicit clock times in-process; the server
tests check the headers, the statistics and the command's flags, moving the emulator's
clock instead of sleeping."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from reconciler.emulator.limits import ACCELERATION, SPEED, SeedingLimits
from tests.conftest import StartEmulator
from tests.emulator.api import Api, basic_auth, definition
from tests.support.emulator import EmulatorServer


def limits(
    limit: float = 100, acceleration: float = 0, live: float = 0, window: float = 1
) -> SeedingLimits:
    return SeedingLimits(
        limit=limit, acceleration=acceleration, live_share=live, window=window, start=0.0
    )


def test_speed_counts_batches_in_the_sliding_window() -> None:
    model = limits(limit=100, window=1)
    assert model.admit(0.0, 60).percentage == 60
    refused = model.admit(0.5, 41)
    assert (refused.limit, refused.retry_after) == (SPEED, 1)
    assert model.admit(0.5, 40).percentage == 100  # exactly the budget
    assert model.admit(0.99, 1).limit == SPEED
    # At 1.0 the first 60 leave the window: 40 are left in it.
    assert model.admit(1.0, 60).percentage == 100
    assert model.admit(1.6, 40).percentage == 100  # the 40 of 0.5 left at 1.5


def test_retry_after_is_when_enough_of_the_window_expires() -> None:
    model = limits(limit=10, window=10)  # 100 batches per 10 s
    model.admit(0.0, 50)
    model.admit(4.0, 50)
    refused = model.admit(4.5, 30)
    # 30 more fit once the 50 of t=0 leave the window at t=10: 5.5 s, rounded up.
    assert (refused.limit, refused.retry_after) == (SPEED, 6)
    assert model.admit(10.0, 30).admitted
    # A request larger than a whole window's budget waits a window (and never fits).
    assert model.admit(10.0, 101).retry_after == 10


def test_acceleration_limits_how_fast_the_rate_grows() -> None:
    model = limits(limit=1000, acceleration=10, window=1)
    assert model.admit(0.0, 10).percentage == 100  # 10 more than the window before: all of it
    refused = model.admit(0.5, 1)
    assert (refused.limit, refused.retry_after) == (ACCELERATION, 1)
    # One window on, the previous window holds 10: this one may hold 10 more.
    assert model.admit(1.0, 15).percentage == 50
    assert model.admit(1.5, 5).percentage == 100
    assert model.admit(1.6, 1).limit == ACCELERATION
    # The windows slide: at 2.0 the last one holds 5 (t=1.5), the one before 15 (t=1.0).
    assert model.admit(2.0, 20).percentage == 100  # 25 against 15
    # Staying at a rate consumes no acceleration; only the speed shows.
    assert model.admit(3.0, 25).percentage == 2  # 25 against 25: speed 25 of 1000


def test_the_percentage_is_the_larger_consumption() -> None:
    model = limits(limit=100, acceleration=50, window=1)
    assert model.admit(0.0, 40).percentage == 80  # speed 40%, acceleration 80%
    model.admit(1.0, 40)
    assert model.percentage_used() == 40  # steady: acceleration 0%, speed 40%


def _fill(model: SeedingLimits, now: float, up_to: int, step: int = 5) -> None:
    """Admit `step`-batch requests at `now` while the percentage used stays under `up_to`."""
    while model.percentage_used() < up_to and model.admit(now, step).admitted:
        pass


def test_live_traffic_uses_its_share_and_flows_before_the_start() -> None:
    model = limits(limit=100, live=0.3, window=10)
    assert 25 <= model.percentage_used() <= 35  # already flowing at the start
    model.catch_up(10.0)
    assert 250 <= model.live.requests <= 350  # 30 a second, at random times
    assert model.live.rate_limited == model.live.acceleration_limited == 0


def test_a_seeder_filling_the_window_costs_live_traffic_429s() -> None:
    model = limits(limit=100, live=0.3, window=10)
    _fill(model, 10.0, 100)
    model.catch_up(20.0)
    assert model.live.rate_limited > 0  # its bursts found no room


def test_a_seeder_leaving_headroom_costs_live_traffic_nothing() -> None:
    model = limits(limit=100, live=0.3, window=10)
    for second in range(10, 60):
        _fill(model, float(second), 90)
    model.catch_up(70.0)
    assert model.live.requests > 1500
    assert model.live.rate_limited == 0


def test_a_seeder_that_grows_too_fast_costs_live_traffic_acceleration_429s() -> None:
    model = limits(limit=100, acceleration=5, live=0.3, window=1)
    model.catch_up(5.0)
    before = model.live.acceleration_limited
    _fill(model, 5.0, 100, step=1)
    assert model.admit(5.0, 1).limit == ACCELERATION
    model.catch_up(5.5)
    assert model.live.acceleration_limited > before


def test_a_long_jump_of_the_clock_is_cheap_and_loses_no_live_request() -> None:
    model = limits(limit=270, live=0.3, window=10)
    model.admit(0.0, 100)
    model.catch_up(7 * 24 * 3600.0)  # a week: counted, not replayed one by one
    assert model.live.requests == pytest.approx(81 * 7 * 24 * 3600, rel=0.001)
    assert model.live.rate_limited == 0
    assert 25 <= model.percentage_used() <= 35


def _user(mpid: int) -> dict[str, Any]:
    return {
        "environment": "development",
        "mpid": mpid,
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "LTV",
                    "calculation_type": "sum",
                    "cutoff_date": "2019-10-02",
                    "seed": {"value": mpid},
                }
            ]
        },
    }


def _workspace(server: EmulatorServer) -> httpx.Client:
    """A client of `server`, whose workspace holds LTV (sum, cutoff 2019-10-02)."""
    body = {"name": "LTV", "draft_definition": definition()}
    response = httpx.post(
        server.url + server.platform_path(), json=body, headers=server.platform_headers()
    )
    assert response.status_code == 201, response.text
    return httpx.Client(base_url=server.url, timeout=30)


def _bulk(http: httpx.Client, first: int, count: int) -> httpx.Response:
    users = [_user(mpid) for mpid in range(first, first + count)]
    return http.post(
        "/v2/bulkcalculatedattributes", json=users, headers={"Authorization": basic_auth()}
    )


def test_the_server_throttles_batches_with_the_documented_headers(
    start_emulator: StartEmulator,
) -> None:
    server = start_emulator(seed_limit=10, limit_window=10, acceleration_limit=6)
    with _workspace(server) as http:
        first = _bulk(http, 1, 60)
        assert first.status_code == 202
        assert first.headers["x-mp-rate-limit-percentage-used"] == "100"  # growth 60 of 60
        too_fast = _bulk(http, 100, 1)
        assert too_fast.status_code == 429
        assert too_fast.headers["x-mp-rate-limit-exceeded"] == "acceleration"
        assert too_fast.headers["retry-after"] == "1"
        server.advance_clock(10)
        second = _bulk(http, 200, 40)
        assert second.status_code == 202
        assert second.headers["x-mp-rate-limit-percentage-used"] == "40"
        over = _bulk(http, 300, 61)  # 40 + 61 > 10/s over 10 s
        assert over.status_code == 429
        assert over.headers["x-mp-rate-limit-exceeded"] == "workspace"
        assert int(over.headers["retry-after"]) >= 1
        [error] = over.json()["errors"]
        assert error == {
            "code": "TOO_MANY_REQUESTS",
            "message": "You have exceeded your provisioned limit.",
        }
    stats = server.stats()
    assert stats["seed_limit"] == {
        "rate_limited": 1,
        "acceleration_limited": 1,
        "peak_percentage_used": 100,
    }
    assert stats["seed_users_accepted"] == 100
    assert server.seeds(limit=0)["count"] == 100


def test_events_api_batches_share_the_limit_with_seeds(start_emulator: StartEmulator) -> None:
    """The default service limits: the Events API takes so many batches a second and says
    how much is used; the seeding page: seeds "contribute to the request rate of the Events
    API". Batches sent to the Events API count, and are refused, as seeds are."""
    server = start_emulator(seed_limit=2, limit_window=1)
    batches = [{"environment": "production", "mpid": n, "events": []} for n in range(2)]
    with _workspace(server) as http:
        auth = {"Authorization": basic_auth()}
        events = http.post("/v2/bulkevents", json=batches, headers=auth)
        assert events.status_code == 202
        assert events.headers["x-mp-rate-limit-percentage-used"] == "100"
        seeds = _bulk(http, 1, 1)
        assert seeds.status_code == 429  # the events used the second's budget
        more = http.post("/v2/events", json=batches[0], headers=auth)
        assert more.status_code == 429
        assert more.headers["x-mp-rate-limit-exceeded"] == "workspace"
        assert int(more.headers["retry-after"]) >= 1
        server.advance_clock(2)
        assert _bulk(http, 1, 1).status_code == 202
    assert server.stats()["seed_limit"]["rate_limited"] == 2


def test_live_traffic_429s_are_counted_in_stats(start_emulator: StartEmulator) -> None:
    server = start_emulator(seed_limit=100, live_traffic=0.5, limit_window=10)
    with _workspace(server) as http:
        for second in range(10):
            # Each second the seeder takes whatever room there is, to the brim.
            sent = [_bulk(http, 10_000 * second + 10 * n, 10).status_code for n in range(60)]
            assert 429 in sent
            server.advance_clock(1)
        live = server.stats()["live_traffic"]
    assert live["requests"] >= 400
    assert live["rate_limited"] > 0
    assert live["acceleration_limited"] == 0


def test_the_command_default_is_270_batches_a_second(start_emulator: StartEmulator) -> None:
    server = start_emulator(seed_limit=None)  # the command's own default
    with _workspace(server) as http:
        assert _bulk(http, 1, 270).headers["x-mp-rate-limit-percentage-used"] == "10"
        server.advance_clock(0.01)
        assert _bulk(http, 1000, 540).headers["x-mp-rate-limit-percentage-used"] == "30"


def test_an_unthrottled_emulator_sends_no_percentage_header(api: Api) -> None:
    api.create_ok({"name": "LTV", "draft_definition": definition()})
    response = api.seed_bulk([_user(1)])
    assert response.status_code == 202
    assert "x-mp-rate-limit-percentage-used" not in response.headers


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--live-traffic", "1", "'--live-traffic': must be at least 0 and below 1, not 1"),
        ("--limit-window", "0", "'--limit-window': must be above 0, not 0"),
        ("--seed-limit", "-1", "'--seed-limit': must be at least 0, not -1"),
        ("--acceleration-limit", "-5", "'--acceleration-limit': must be at least 0, not -5"),
        ("--propagation-delay", "-1", "'--propagation-delay': must be at least 0, not -1"),
    ],
)
def test_bad_limit_flags_are_named(flag: str, value: str, message: str) -> None:
    from tests.support.cli import run_cli

    result = run_cli("emulator", "--port", "0", flag, value)
    assert result.exit_code == 1
    assert message in result.stderr


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--token-ttl", "0", "'--token-ttl': must be between 1 and 1000000000, not 0"),
        (
            "--workspace-id",
            "-3",
            "'--workspace-id': must be between 1 and 9223372036854775807, not -3",
        ),
    ],
)
def test_flags_that_would_serve_nothing_are_named(
    monkeypatch: pytest.MonkeyPatch, flag: str, value: str, message: str
) -> None:
    """Accepted, they served nothing: every token expired when given (403 on every call),
    and no client can name a workspace id below 1."""
    from reconciler.commands import emulator
    from tests.support.cli import run_cli

    served: list[int] = []

    def serve(config: object, sock: socket.socket, **kwargs: object) -> None:
        served.append(sock.getsockname()[1])
        sock.close()

    monkeypatch.setattr(emulator, "serve", serve)
    result = run_cli("emulator", "--port", "0", flag, value)
    assert (result.exit_code, served) == (1, []), result.output
    assert message in result.stderr
