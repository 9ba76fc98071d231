"""The emulator's error messages are the originals' byte for byte: every message of the
Platform API page's tables (`originals/platform_messages.txt`, ASCII quotes as printed) is
the emulator's constant, and each one the emulator can produce comes back verbatim from a
request that breaks exactly that rule (the page's `{date}` / `{N}` filled in)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from reconciler.emulator import messages as m
from tests.emulator.api import Api, ca_body, messages
from tests.emulator.test_validation import CASES, time_period
from tests.support.emulator import EmulatorServer

ORIGINALS = Path(__file__).parent / "originals"
DOCUMENTED = (ORIGINALS / "platform_messages.txt").read_text(encoding="utf-8").splitlines()
#: The table lists it, but the operator x type map gives date no in_list, so the map's
#: message ("Invalid date condition operator") is what a date in_list gets.
NEVER_PRODUCED = {"Invalid datetime in-list condition values"}

Trigger = Callable[[Api, EmulatorServer], httpx.Response]


def _create(make: Callable[[], dict[str, object]]) -> Trigger:
    return lambda api, emulator: api.create(make())


def _duplicate(api: Api, emulator: EmulatorServer) -> httpx.Response:
    api.create_ok(ca_body("LTV"))
    return api.create(ca_body("LTV"))


def _old_date(api: Api, emulator: EmulatorServer) -> httpx.Response:
    emulator.settings(retention_days=30)
    return api.create(time_period(type="since", date="2019-10-01"))


def _long_window(api: Api, emulator: EmulatorServer) -> httpx.Response:
    emulator.settings(retention_days=30)
    return api.create(time_period(type="within", within=5, within_unit="weeks"))


def _rename_active(api: Api, emulator: EmulatorServer) -> httpx.Response:
    ca_id = api.create_ok(ca_body("LTV"))
    api.activate(ca_id)
    return api.update(ca_id, ca_body("Lifetime value"))


def _over_limit(api: Api, emulator: EmulatorServer) -> httpx.Response:
    emulator.settings(max_active=1)
    first, second = api.create_ok(ca_body("A")), api.create_ok(ca_body("B"))
    api.activate(first)
    return api.activate(second)


def _no_draft(api: Api, emulator: EmulatorServer) -> httpx.Response:
    ca_id = api.create_ok(ca_body())
    api.activate(ca_id)
    return api.activate(ca_id)


TRIGGERS: dict[str, Trigger] = {message: _create(make) for message, make in CASES}
TRIGGERS |= {
    m.NAME_UNIQUE: _duplicate,
    m.RETENTION_DATE: _old_date,
    m.RETENTION_WITHIN: _long_window,
    m.NAME_READ_ONLY: _rename_active,
    m.ACTIVE_LIMIT: _over_limit,
    m.NO_DRAFT: _no_draft,
}


def _pattern(documented: str) -> re.Pattern[str]:
    """The documented text exactly, its placeholders standing for a date and a number."""
    escaped = re.escape(documented)
    escaped = escaped.replace(re.escape("{date}"), r"\d{4}-\d{2}-\d{2}")
    return re.compile(escaped.replace(re.escape("{N}"), r"\d+"))


def test_the_emulators_documented_messages_are_the_originals() -> None:
    assert list(m.DOCUMENTED) == DOCUMENTED
    assert all("\u2018" not in text and "\u2019" not in text for text in DOCUMENTED)
    assert m.RETENTION_DATE.startswith("'time_period.date' must be on or after")


def test_every_producible_documented_message_has_a_trigger() -> None:
    assert set(TRIGGERS) == set(DOCUMENTED) - NEVER_PRODUCED


@pytest.mark.parametrize("documented", sorted(set(DOCUMENTED) - NEVER_PRODUCED))
def test_message_comes_back_byte_for_byte(
    api: Api, emulator: EmulatorServer, documented: str
) -> None:
    response = TRIGGERS[documented](api, emulator)
    assert response.status_code in (400, 422), response.text
    [said] = messages(response)
    assert _pattern(documented).fullmatch(said), said
    # Byte for byte on the wire too: the JSON body carries the text as UTF-8, unescaped.
    assert said.encode() in response.content
