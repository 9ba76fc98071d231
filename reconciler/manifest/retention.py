"""The account's retention period (SPEC §9), checked offline. Part of manifest loading, once
the settings say each environment's `retention_days`.

mParticle refuses, on create and update, a `since` date before the earliest date it keeps
data for (today, UTC, minus the retention) and a `within` window longer than the
retention. With `retention_days` set, `validate` (and every command that loads the
manifests) reports the same as located errors, quoting the message the API would give.
Only a CA with a problem has its file read again, to point at the line that sets the
period (in the environment's override when the override writes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from reconciler.environments import environment_names, layered
from reconciler.errors import Issue, format_path, quoted
from reconciler.manifest.entries import entry
from reconciler.models import CanonicalDefinition
from reconciler.models.values import parse_instant
from reconciler.settings import SettingsFile

if TYPE_CHECKING:
    from reconciler.manifest.loader import DesiredCA

CAS_KEY = "calculated_attributes"
OVERRIDES = "overrides"
DAYS_PER_UNIT = {"days": 1, "weeks": 7}
#: The API's messages (the Platform API page), with their placeholders filled in.
API_DATE = "'time_period.date' must be on or after the earliest date available of {date}"
API_WITHIN = (
    "The within time period cannot exceed your configured retention period of {N} days "
    "for Calculated Attributes"
)


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def earliest(today: date, retention_days: int) -> date:
    """The first day the account still keeps data for."""
    return today - timedelta(days=retention_days)


def problems(
    definition: CanonicalDefinition, retention_days: int, today: date
) -> list[tuple[tuple[str, ...], str]]:
    """(field path, message) of every way the time period outlives the retention."""
    period = definition["time_period"]
    if period is None:
        return []
    if period["type"] == "since" and period["date"] is not None:
        first = earliest(today, retention_days)
        since = parse_instant(period["date"])
        if since < datetime(first.year, first.month, first.day):
            return [
                (
                    ("definition", "time_period", "date"),
                    f"{since.date().isoformat()} is before {first.isoformat()}, the earliest "
                    f"date the account keeps data for (today in UTC, {today.isoformat()}, minus "
                    f"retention_days {retention_days}); mParticle refuses it: "
                    f'"{API_DATE.format(date=first.isoformat())}". Use {first.isoformat()} '
                    "or later, or a longer retention_days if the account has it",
                )
            ]
    within, unit = period["within"], period["within_unit"]
    if period["type"] == "within" and within is not None and unit in DAYS_PER_UNIT:
        days = within * DAYS_PER_UNIT[unit]
        if days > retention_days:
            window = f"{within} {unit}" if unit == "days" else f"{within} {unit} ({days} days)"
            return [
                (
                    ("definition", "time_period", "within"),
                    f"{window} is longer than the account's retention of "
                    f"{retention_days} days (retention_days); mParticle refuses it: "
                    f'"{API_WITHIN.format(N=retention_days)}". Use at most '
                    f"{retention_days} days",
                )
            ]
    return []


@dataclass(frozen=True)
class _Found:
    desired: DesiredCA
    environment: str | None
    path: tuple[str, ...]
    message: str


def retention_issues(
    cas: Sequence[DesiredCA], settings: SettingsFile, today: date | None = None
) -> list[Issue]:
    """Every CA whose time period outlives its environment's `retention_days`, located; a
    problem every environment shares is reported once, naming them."""
    environments: list[str | None] = list(environment_names(settings)) or [None]
    retention = {name: layered(settings, name).retention_days for name in environments}
    if not any(retention.values()):
        return []
    day = today or today_utc()
    grouped: dict[tuple[int, str, tuple[str, ...]], list[_Found]] = {}
    for desired in cas:
        for name in environments:
            days = retention[name]
            variant = desired.in_environment(name) if days else None
            if variant is None or days is None:
                continue
            for path, message in problems(variant.ca.canonical, days, day):
                key = (id(desired), message, path)
                grouped.setdefault(key, []).append(_Found(desired, name, path, message))
    return [_issue(found) for found in grouped.values()]


def _issue(found: list[_Found]) -> Issue:
    first = found[0]
    desired = first.desired
    named = [f.environment for f in found if f.environment is not None]
    where = f" in environment{'s' if len(named) > 1 else ''} {', '.join(named)}" if named else ""
    message = f"{first.message} (CA {quoted(desired.name)}{where})"
    written = entry(desired)
    if written is None:
        return Issue(desired.file, desired.line, desired.column, format_path(first.path), message)
    document, index, item = written
    overridden = [name for name in named if _in_override(item, name, first.path)]
    origin: tuple[str, ...] = (OVERRIDES, overridden[0]) if overridden else ()
    located = document.issue((CAS_KEY, index, *origin, *first.path), message)
    return Issue(
        located.file, located.line, located.column, format_path((*origin, *first.path)), message
    )


def _in_override(item: Any, environment: str, path: tuple[str, ...]) -> bool:
    """Whether the environment's override writes the time period (or the definition)."""
    overrides = item.get(OVERRIDES) if isinstance(item, dict) else None
    current: Any = overrides.get(environment) if isinstance(overrides, dict) else None
    for part in path[:2]:  # definition.time_period: an override writing either owns it
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
    return True
