"""The account's retention period, offline (SPEC §9): with `retention_days`, `validate`
refuses a `since` date before today minus the retention and a `within` window longer than
it, each at its line; the emulator refuses the same definitions with the API's message,
which the offline error quotes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.manifest import retention
from reconciler.models import CalculatedAttribute
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import SESSIONS, api_definition, env_for

TODAY = retention.today_utc()


def since(days_ago: int) -> dict[str, Any]:
    day = (TODAY - timedelta(days=days_ago)).isoformat()
    return {**SESSIONS, "time_period": {"type": "since", "date": day}}


def within(count: int, unit: str) -> dict[str, Any]:
    return {**SESSIONS, "time_period": {"type": "within", "within": count, "within_unit": unit}}


def manifest_dir(tmp_path: Path, settings: str, cas: str) -> Path:
    (tmp_path / "reconciler.yaml").write_text(settings)
    (tmp_path / "cas.yaml").write_text(cas)
    return tmp_path


def ca_yaml(name: str, period: str, extra: str = "") -> str:
    return (
        f"  - name: {name}\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start}\n"
        f"      time_period: {period}\n{extra}"
    )


OLD = (TODAY - timedelta(days=60)).isoformat()
EARLIEST = (TODAY - timedelta(days=30)).isoformat()


def test_validate_refuses_a_since_date_and_a_window_beyond_the_retention(tmp_path: Path) -> None:
    directory = manifest_dir(
        tmp_path,
        "workspace_id: 1\nretention_days: 30\n",
        "calculated_attributes:\n"
        + ca_yaml("Old", f"{{type: since, date: {OLD}}}")
        + ca_yaml("Long", "{type: within, within: 5, within_unit: weeks}")
        + ca_yaml("Edge", f"{{type: since, date: {EARLIEST}}}")
        + ca_yaml("Month", "{type: within, within: 30, within_unit: days}"),
    )
    for _ in range(2):  # the second load reads the manifest cache: checked all the same
        result = run_cli("validate", directory)
        assert result.exit_code == 1, result.output
        errors = result.stderr.replace(f"{directory}/", "")
        assert "2 errors in manifests:" in errors
        assert re.search(
            rf"cas\.yaml:6:\d+: definition\.time_period\.date: {OLD} is before {EARLIEST}, the "
            rf"earliest date the account keeps data for \(today in UTC, {TODAY}, minus "
            r"retention_days 30\); mParticle refuses it",
            errors,
        ), errors
        assert re.search(
            r"cas\.yaml:11:\d+: definition\.time_period\.within: 5 weeks \(35 days\) is longer "
            r"than the account's retention of 30 days \(retention_days\)",
            errors,
        ), errors
        assert '(CA "Old")' in errors
        assert '(CA "Long")' in errors
        assert "Edge" not in errors
        assert "Month" not in errors


def test_each_environment_checks_against_its_own_retention(tmp_path: Path) -> None:
    directory = manifest_dir(
        tmp_path,
        "workspace_id: 1\nretention_days: 90\nenvironments:\n"
        "  dev: {workspace_id: 2}\n  prod: {workspace_id: 3, retention_days: 30}\n",
        "calculated_attributes:\n"
        + ca_yaml("Old", f"{{type: since, date: {OLD}}}")
        + ca_yaml(
            "Overridden",
            "{type: within, within: 4, within_unit: weeks}",
            "    overrides:\n      prod:\n        definition:\n"
            "          time_period: {type: within, within: 6, within_unit: weeks}\n",
        ),
    )
    result = run_cli("validate", directory)
    errors = result.stderr.replace(f"{directory}/", "")
    assert result.exit_code == 1
    assert "2 errors in manifests:" in errors
    old = r'cas\.yaml:6:\d+: definition\.time_period\.date: .*\(CA "Old" in environment prod\)'
    assert re.search(old, errors), errors
    assert re.search(
        r"cas\.yaml:15:\d+: overrides\.prod\.definition\.time_period\.within: 6 weeks \(42 "
        r'days\).*\(CA "Overridden" in environment prod\)',
        errors,
    ), errors


def test_of_two_cas_written_on_one_line_the_error_points_at_the_one_it_is_about(
    tmp_path: Path,
) -> None:
    """The file read again to place the error found its CA by line alone: of two CAs
    written on one line (flow style), the second's error pointed into the first."""
    period = "{type: within, within: %d, within_unit: days}"
    entry = "{name: %s, definition: {calculation_type: count, "
    entry += "datapoint: {event_type: session_start}, "
    line = f"{entry % 'Short'}time_period: {period % 7}}}}}, {entry % 'Long'}time_period: "
    line += f"{period % 400}}}}}"
    directory = manifest_dir(
        tmp_path, "workspace_id: 1\nretention_days: 30\n", f"calculated_attributes: [{line}]\n"
    )
    result = run_cli("validate", directory)
    assert result.exit_code == 1, result.output
    column = len("calculated_attributes: [") + line.index("400") + 1
    assert f"cas.yaml:1:{column}: definition.time_period.within: 400 days" in result.stderr


def test_without_retention_days_nothing_is_checked(tmp_path: Path) -> None:
    directory = manifest_dir(
        tmp_path,
        "workspace_id: 1\n",
        "calculated_attributes:\n" + ca_yaml("Old", "{type: since, date: 2001-01-01}"),
    )
    assert run_cli("validate", directory).exit_code == 0


@pytest.mark.parametrize(
    ("definition", "days", "wanted"),
    [
        (since(31), 30, "date"),
        (since(30), 30, None),
        (within(31, "days"), 30, "within"),
        (within(4, "weeks"), 30, None),
        (within(5, "weeks"), 35, None),
    ],
)
def test_the_bounds_are_those_the_api_keeps(
    definition: dict[str, Any], days: int, wanted: str | None
) -> None:
    canonical = CalculatedAttribute.model_validate({"name": "X", "definition": definition})
    found = retention.problems(canonical.canonical, days, TODAY)
    assert [path[-1] for path, _ in found] == ([wanted] if wanted else [])


@pytest.mark.parametrize(
    ("definition", "said"),
    [
        (within(31, "days"), "31 days is longer"),
        (within(5, "weeks"), "5 weeks (35 days) is longer"),
    ],
)
def test_a_window_too_long_is_said_once_in_days(definition: dict[str, Any], said: str) -> None:
    """A window in days was said twice: `90 days (90 days) is longer than ...`."""
    canonical = CalculatedAttribute.model_validate({"name": "X", "definition": definition})
    ((_, message),) = retention.problems(canonical.canonical, 30, TODAY)
    assert message.startswith(said + " than the account's retention of 30 days"), message


def api_refusal(server: EmulatorServer, definition: dict[str, Any]) -> list[str]:
    response = httpx.post(
        server.url + server.platform_path(),
        json={"name": "X", "draft_definition": api_definition(definition)},
        headers=server.platform_headers(),
    )
    assert response.status_code == 400, response.text
    return [error["message"] for error in response.json()["errors"]]


def test_the_emulator_refuses_the_same_with_the_message_the_offline_error_quotes(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    emulator.settings(retention_days=30)
    for definition, path in ((since(60), "date"), (within(5, "weeks"), "within")):
        (api_message,) = api_refusal(emulator, definition)
        canonical = CalculatedAttribute.model_validate({"name": "X", "definition": definition})
        ((where, offline),) = retention.problems(canonical.canonical, 30, TODAY)
        assert where[-1] == path
        assert f'"{api_message}"' in offline
    # Without retention_days in reconciler.yaml the apply meets the refusal instead, and
    # reports the API's own words.
    directory = manifest_dir(
        tmp_path,
        "workspace_id: 1234\n",
        "calculated_attributes:\n" + ca_yaml("Old", f"{{type: since, date: {OLD}}}"),
    )
    applied = run_cli("apply", directory, "--auto-approve", env=env_for(emulator.url))
    assert applied.exit_code == 1
    assert f"earliest date available of {EARLIEST}" in applied.output
    assert date.fromisoformat(EARLIEST) == retention.earliest(TODAY, 30)
