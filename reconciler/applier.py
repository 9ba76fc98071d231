"""The applier: runs a Plan against the Platform API. Never plans; only reads the plan.

Each CA's actions run in order; independent CAs run concurrently (renames and deletes first,
as a phase of their own). A failure stops new work, lets running steps finish, and the
report says per action: done, failed (with the API's message), or not started.
Lost responses never duplicate anything: a create is verified by name, an activation by
re-reading the CA, before anything is sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any

from reconciler.api.client import PlatformClient
from reconciler.errors import (
    ApiError,
    BusinessRuleError,
    NotFoundError,
    ServerError,
    TransportError,
)
from reconciler.models import LiveCA, LiveDefinition
from reconciler.plan.report import ActionOutcome, ApplyReport
from reconciler.plan.value import Action, Plan

#: Rounds of "create, lost answer, not found by name, create again" before giving up.
CREATE_ROUNDS = 5
#: Rounds of "activate, lost answer, draft still there, activate again".
ACTIVATE_ROUNDS = 5


def _ambiguous(exc: ApiError) -> bool:
    """The request may have taken effect: a 5xx, or no complete answer."""
    return isinstance(exc, (ServerError, TransportError))


#: Statuses a business rule may come with: the docs give its messages but no status (the v1
#: table says 422 for business rules, "must be unique" sits in the validation table (400),
#: and a conflict is often 409), so a rule is recognised by its text under any of them.
RULE_STATUSES = frozenset({400, 409, 422})
NAME_TAKEN = "must be unique"
NO_DRAFT = "no draft definition was found"
ACTIVE_LIMIT = "limit on active calculated attributes"


def _says(exc: ApiError, text: str) -> bool:
    """The API refused by a business rule whose message holds `text` (any case)."""
    return exc.status in RULE_STATUSES and any(text in m.lower() for m in exc.messages)


def _name_taken(exc: ApiError) -> bool:
    return _says(exc, NAME_TAKEN)


def _active_limit(exc: ApiError) -> BusinessRuleError:
    """The active-CA limit as one error that says what to do, the API's words kept."""
    return BusinessRuleError(
        "the account's limit on active calculated attributes is reached: delete or keep "
        "inactive CAs you do not need, or ask mParticle to raise the limit (with "
        "active_limit or RECONCILER_ACTIVE_LIMIT set, the plan refuses this before any write)",
        status=exc.status,
        messages=exc.messages,
        method=exc.method,
        path=exc.path,
    )


class _Runner:
    def __init__(
        self,
        client: PlatformClient,
        concurrency: int,
        on_step: Callable[[ActionOutcome], None] | None,
    ) -> None:
        self.client = client
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.stop = asyncio.Event()
        self.on_step = on_step

    async def chain(self, outcomes: Sequence[ActionOutcome]) -> None:
        async with self.semaphore:
            ca_id: int | None = outcomes[0].action.id
            draft: dict[str, Any] | None = None
            for outcome in outcomes:
                if self.stop.is_set():
                    return
                action = outcome.action
                if action.action in ("create", "update"):
                    draft = action.body
                try:
                    ca_id = await self.step(action, ca_id, draft, outcome)
                except ApiError as exc:
                    outcome.status = "failed"
                    outcome.message = exc.message
                    outcome.id = ca_id
                    self.stop.set()
                    self._report(outcome)
                    return
                outcome.status = "done"
                outcome.id = ca_id
                self._report(outcome)

    def _report(self, outcome: ActionOutcome) -> None:
        if self.on_step is not None:
            self.on_step(outcome)

    async def step(
        self,
        action: Action,
        ca_id: int | None,
        draft: dict[str, Any] | None,
        outcome: ActionOutcome,
    ) -> int | None:
        if action.action == "create":
            return await self.create(action, outcome)
        if ca_id is None:
            raise ApiError(f'no id known for "{action.name}" (its create did not run)')
        if action.action == "update":
            await self.client.update(ca_id, action.body)
        elif action.action == "activate":
            await self.activate(ca_id)
        elif action.action == "discard_draft":
            await self.discard_draft(ca_id)
        elif action.action == "delete":
            await self.delete(ca_id)
        return ca_id

    async def create(self, action: Action, outcome: ActionOutcome) -> int:
        body = action.body
        last: ApiError | None = None
        for _ in range(CREATE_ROUNDS):
            try:
                return await self.client.create(body)
            except ApiError as exc:
                if not (_ambiguous(exc) or _name_taken(exc)):
                    raise
                last = exc
            # The answer was lost (or the name is taken, maybe by our own lost create):
            # look before creating again, so a fault can never make a duplicate.
            existing = await self.client.find(action.name)
            if existing is not None:
                outcome.adopted = True
                await self.match_draft(existing, body)
                return existing.id
            if last is not None and _name_taken(last):
                raise last
        assert last is not None
        raise last

    async def match_draft(self, existing: LiveCA, body: dict[str, Any]) -> None:
        """An adopted CA must hold exactly the draft we meant to create.

        Another run may have activated it already: its definition in use then counts, so
        that it is not re-sent and activated again (which restarts the calculation).
        """
        wanted = LiveDefinition.read(body["draft_definition"]).canonical
        held = existing.draft or existing.active
        if held != wanted or existing.description_text != body.get("description", ""):
            await self.client.update(existing.id, body)

    async def activate(self, ca_id: int) -> None:
        for _ in range(ACTIVATE_ROUNDS):
            try:
                await self.client.activate(ca_id)
                return
            except ApiError as exc:
                if _says(exc, ACTIVE_LIMIT):
                    raise _active_limit(exc) from None
                no_draft = _says(exc, NO_DRAFT)
                if not (_ambiguous(exc) or no_draft):
                    raise
                current = await self.client.get(ca_id)
                if current.active_definition is not None and current.draft is None:
                    return  # the activation took effect; its answer was lost
                if no_draft:
                    raise
        raise ApiError(
            f"activation of CA {ca_id} did not take effect after {ACTIVATE_ROUNDS} tries"
        )

    async def discard_draft(self, ca_id: int) -> None:
        try:
            await self.client.discard_draft(ca_id)
        except NotFoundError:
            current = await self.client.get(ca_id)
            if current.draft is not None:
                raise

    async def delete(self, ca_id: int) -> None:
        try:
            await self.client.delete(ca_id)
        except NotFoundError:
            return  # gone already: an earlier attempt's answer was lost


def _chains(plan: Plan) -> list[list[ActionOutcome]]:
    """Actions grouped per CA, in plan order (the plan lists each CA's actions together)."""
    return [
        [ActionOutcome(action) for action in group]
        for _, group in groupby(plan.actions, key=lambda action: (action.name, action.id))
    ]


def _first_phase(chain: list[ActionOutcome]) -> bool:
    return any(o.action.renames or o.action.action == "delete" for o in chain)


async def apply(
    plan: Plan,
    client: PlatformClient,
    *,
    concurrency: int = 8,
    on_step: Callable[[ActionOutcome], None] | None = None,
) -> ApplyReport:
    """Run every action of `plan`; never raises for API failures (they are in the report)."""
    chains = _chains(plan)
    runner = _Runner(client, concurrency, on_step)
    phases = [[c for c in chains if _first_phase(c)], [c for c in chains if not _first_phase(c)]]
    for phase in phases:
        if runner.stop.is_set():
            break
        await asyncio.gather(*(runner.chain(chain) for chain in phase))
    return ApplyReport([outcome for chain in chains for outcome in chain])


def stale(plan: Plan, live: Sequence[LiveCA]) -> list[str]:
    """Why a saved plan no longer fits the workspace (empty when it still does)."""
    by_id = {ca.id: ca for ca in live}
    names = {ca.name for ca in live}
    found: list[str] = []
    for action in plan.actions:
        if action.id is None:
            if action.action == "create" and action.name in names:
                found.append(f'"{action.name}" now exists (the plan would create it)')
            continue
        current = by_id.get(action.id)
        if current is None:
            found.append(f'"{action.name}" (id {action.id}) no longer exists')
        elif current.fingerprint != plan.live.get(str(action.id)):
            found.append(f'"{action.name}" (id {action.id}) changed since the plan was made')
    return sorted(set(found))


def verify(plan: Plan, live: Sequence[LiveCA]) -> list[str]:
    """What the plan meant to achieve but the workspace does not show (empty when done)."""
    by_name = {ca.name: ca for ca in live}
    by_id = {ca.id: ca for ca in live}
    problems: list[str] = []
    for name, group in groupby(plan.actions, key=lambda action: action.name):
        actions = list(group)
        kinds = {a.action for a in actions}
        if "delete" in kinds:
            if any(a.id in by_id for a in actions):
                problems.append(f'"{name}" still exists')
            continue
        current = by_name.get(name)
        if current is None:
            problems.append(f'"{name}" does not exist')
            continue
        bodies = [a.body for a in actions if a.action in ("create", "update")]
        if bodies:
            wanted = LiveDefinition.read(bodies[-1]["draft_definition"]).canonical
            held = current.active if "activate" in kinds else (current.draft or current.active)
            if held != wanted:
                problems.append(f'"{name}" does not hold the planned definition')
            if current.description_text != bodies[-1].get("description", ""):
                problems.append(f'"{name}" does not have the planned description')
        if ("activate" in kinds or "discard_draft" in kinds) and current.draft is not None:
            problems.append(f'"{name}" still has a draft')
        if "activate" in kinds and current.active is None:
            problems.append(f'"{name}" is not active')
    return problems
