"""Seeding, step 4a: before anything is sent, one list request (Platform API) checks that
every CA the file seeds exists in the workspace, active or as a draft, with a seeding
cutoff and the calculation type and cutoff the manifests give (`check`); with
--skip-invalid the users seeding one that does not are set aside (`exclude`).

Seeds for such a CA get "No matching calculated attribute definition found", the very
answer a CA still propagating gets; without this check a run would wait its `--seed-wait`
out for a CA that will never take them. The list also says when each CA was last
written, which the propagation wait announces. Needs Platform API credentials (always there
for the embedded target); without them the check is skipped, and said so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

import httpx
import orjson

from reconciler.api import transports
from reconciler.api.retrying import Deadline
from reconciler.errors import ApiError, quoted
from reconciler.models.live import repeated_ids
from reconciler.models.values import parse_instant
from reconciler.models.vocabulary import CALCULATION_TYPE_SYNONYMS
from reconciler.seeding.batches import Spool
from reconciler.seeding.catalogue import Catalogue, SeedTarget
from reconciler.seeding.report import RejectsFile, SeedReport
from reconciler.settings import Settings


@dataclass(frozen=True)
class Workspace:
    """What the list said about the CAs a file seeds."""

    #: CA name -> why the workspace will not take its seeds (absent, no seeding, ...).
    refused: dict[str, str] = field(default_factory=dict)
    #: CA name -> when it was last written (epoch seconds, this machine's clock), where
    #: the API said so.
    written: dict[str, float] = field(default_factory=dict)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(sorted(self.refused))


def can_check(settings: Settings) -> bool:
    """Platform API credentials are at hand (the embedded target always has them)."""
    return settings.target == "embedded" or bool(settings.client_id and settings.client_secret)


async def check(
    settings: Settings,
    names: Iterable[str],
    catalogue: Catalogue,
    transport: httpx.AsyncBaseTransport | None = None,
    deadline: Deadline | None = None,
) -> Workspace:
    """Which of `names` the workspace will not take seeds for (one list request), and when
    the others were last written."""
    async with transports.platform(settings, transport, shared=deadline) as client:
        content = await client.list_json()
        # `last_modified_on` is on the server's clock; `written` is on ours, which the
        # propagation wait compares with: off by an hour, it took a CA written a minute
        # ago for one written an hour ago (or for one written in the future).
        skew = client.clock_skew or 0.0
    try:
        listed = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ApiError(f"the CA list could not be read: not JSON ({exc})") from None
    if not isinstance(listed, list):
        raise ApiError("the CA list could not be read: not a JSON array")
    # Read by name below, as seeds are addressed: an id under two names would have one
    # name pass for a CA the workspace may not hold. The other commands refuse such a list
    # as they read it (models.live); this reads the answer as sent, so it checks here.
    named = [
        (item["id"], item["name"])
        for item in listed
        if isinstance(item, dict)
        and type(item.get("id")) is int
        and isinstance(item.get("name"), str)
    ]
    if len({ca_id for ca_id, _ in named}) < len(named):
        raise ApiError(repeated_ids(named))
    present = {
        item["name"]: item
        for item in listed
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    }
    refused: dict[str, str] = {}
    written: dict[str, float] = {}
    for name in sorted(set(names)):
        item = present.get(name)
        reason = _why_not(item, catalogue.get(name), settings.workspace_id)
        if reason is not None:
            refused[name] = reason
        elif item is not None and (when := _epoch(item.get("last_modified_on"))) is not None:
            written[name] = when - skew
    return Workspace(refused, written)


def _why_not(item: dict[str, Any] | None, target: SeedTarget | None, workspace: int) -> str | None:
    """Why a live CA will never take the seeds the manifests shape for it, or None.

    The definition in use (the active one, else the draft) must have a seeding cutoff, and
    the calculation type and cutoff the manifests give (`reconciler apply` first).
    """
    if item is None:
        return f"workspace {workspace} holds no CA of this name (neither active nor as a draft)"
    definition = item.get("active_definition") or item.get("draft_definition")
    if not isinstance(definition, dict) or target is None:
        return None
    seeding = definition.get("seeding")
    cutoff = seeding.get("cutoff_date") if isinstance(seeding, dict) else None
    if not isinstance(cutoff, str):
        return (
            "its definition in the workspace has no seeding.cutoff_date, and mParticle takes "
            "seeds only for a CA defined with one"
        )
    kind = definition.get("calculation_type")
    kind = CALCULATION_TYPE_SYNONYMS.get(kind, kind) if isinstance(kind, str) else kind
    live = (kind, _day(cutoff))
    wanted = (target.calculation_type, target.cutoff_text or live[1])
    if live != wanted:
        return (
            f"its definition in the workspace is {live[0]} with cutoff {live[1]}, the manifests "
            f"say {wanted[0]} with cutoff {wanted[1]}"
        )
    return None


def _day(cutoff: str) -> str:
    """A live cutoff's day in UTC, as a manifest's cutoff is reduced to the Seeding API's
    `yyyy-MM-dd`: `2019-10-01T22:00:00-02:00` is 2019-10-02. Its first ten characters are
    the day as written, which is the UTC day only when no offset is given. Text that is no
    date is shown as it is."""
    try:
        return parse_instant(cutoff).date().isoformat()
    except ValueError:
        return cutoff


def _epoch(text: object) -> float | None:
    """An audit timestamp (`2019-12-06T15:04:22.043`, UTC with or without `Z`)."""
    try:
        moment = parse_instant(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc).timestamp()


def exclude(
    spool: Spool, refused: Mapping[str, str], rejects: RejectsFile, report: SeedReport
) -> Spool:
    """A new spool without the users who seed a refused CA; those go to the rejects file
    (stage `preflight`): the bulk API takes a user whole or not at all."""
    kept = Spool(spool.batch_size, spool.max_bytes)
    for line, user in spool.read():
        body = orjson.loads(user)
        named = {entry["attribute_name"] for entry in body["calculated_attributes"]["workspace"]}
        hit = sorted(named & refused.keys())
        if hit:
            rejects.write(
                line, [f"{quoted(name)}: {refused[name]}" for name in hit], body, "preflight"
            )
            report.count_refused(body)
        else:
            kept.add(line, user)
    return kept
