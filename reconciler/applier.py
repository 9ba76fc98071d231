"""The applier: runs a Plan against the Platform API. Never plans; only reads the plan.

Each CA's actions run in order; independent CAs run concurrently, phase by phase
(`plan.phases`: renames and deletes first; with seeds, each group of `seed` actions is one
call of the seeder, between the writes and the activations). A failure stops new work, lets
running steps finish, and the report says per action: done, failed (with the API's
message), or not started. Lost responses never duplicate anything: a create is verified by
name, an activation by re-reading the CA, before anything is sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, TypeVar

from reconciler.api.client import PlatformClient
from reconciler.api.http import checking, watching
from reconciler.errors import (
    ApiError,
    BusinessRuleError,
    NotFoundError,
    ReconcilerError,
    ServerError,
    TransportError,
    quoted,
)
from reconciler.models import LiveCA, LiveDefinition
from reconciler.plan.phases import Phase, chains, phases
from reconciler.plan.report import ActionOutcome, ApplyReport
from reconciler.plan.value import Action, Plan

#: Rounds of "create, lost answer, not found by name, create again" before giving up.
CREATE_ROUNDS = 5
#: Rounds of "activate, lost answer, draft still there, activate again".
ACTIVATE_ROUNDS = 5

T = TypeVar("T")


def _ambiguous(exc: ApiError) -> bool:
    """The request may have taken effect: a 5xx, or no complete answer to a request that
    may have reached the server. One that never left this machine (every attempt failed
    to connect: `unsent`) certainly did not: its failure is the step's, with nothing to
    look up or re-read."""
    return isinstance(exc, (ServerError, TransportError)) and not exc.unsent


def _purpose(action: Action) -> str:
    """What a step's requests are for, as their retry notices name it: `create "LTV"`."""
    return f"{action.kind.verb} {quoted(action.name)}"


async def _checked(error: ApiError, check: Awaitable[T], failing: str) -> T:
    """What `check` reads to learn whether `error`'s write took effect (or to adopt what
    it finds), each of its requests given every attempt of the retry policy (`checking`:
    given up, it would fail a step that was probably carried out); when `check` fails
    too, `error` itself (the step's own failure, its request named) saying that `failing`
    failed as well, with that request named too."""
    try:
        with checking():
            return await check
    except ApiError as failed:
        error.message += f"; {failing} failed too: {failed.message}"
        error.args = (error.message,)
        raise error from None


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


def _active_limit(exc: ApiError) -> ApiError:
    """The active-CA limit as one error that says what to do, the API's words kept."""
    return exc.saying(
        "the account's limit on active calculated attributes is reached: delete or keep "
        "inactive CAs you do not need, or ask mParticle to raise the limit (with "
        "active_limit or RECONCILER_ACTIVE_LIMIT set, the plan refuses this before any write)",
        BusinessRuleError,
    )


@dataclass(frozen=True)
class SeedResult:
    """What became of one CA's seeds in a group: users landed, users the server refused,
    or the error that stopped the group (`interrupted`: by a signal)."""

    landed: int = 0
    refused: int = 0
    error: str | None = None
    interrupted: bool = False


#: Sends one group's seeds: CA name -> its id; `first`: no group was sent before in this
#: apply. Raises a ReconcilerError when the group could not start.
Seeder = Callable[[Mapping[str, int], bool], Awaitable[Mapping[str, SeedResult]]]


class _Runner:
    def __init__(
        self,
        client: PlatformClient,
        concurrency: int,
        on_step: Callable[[ActionOutcome], None] | None,
        seeder: Seeder | None = None,
    ) -> None:
        self.client = client
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.stop = asyncio.Event()
        self.on_step = on_step
        self.seeder = seeder
        self.groups = 0
        self.interrupted = False

    async def chain(self, outcomes: Sequence[ActionOutcome], ca_id: int | None = None) -> None:
        async with self.semaphore:
            ca_id = ca_id if ca_id is not None else outcomes[0].action.id
            draft: dict[str, Any] | None = None
            for outcome in outcomes:
                if self.stop.is_set():
                    return
                action = outcome.action
                if action.action in ("create", "update"):
                    draft = action.body
                try:
                    with watching() as writes:
                        ca_id = await self.step(action, ca_id, draft, outcome)
                except ApiError as exc:
                    outcome.status = "failed"
                    outcome.message = exc.message
                    outcome.id = ca_id
                    self.stop.set()
                    self._report(outcome)
                    return
                except asyncio.CancelledError:
                    outcome.id = ca_id
                    if writes.reached:
                        # Ctrl-C or SIGTERM with this step's write on its way (or answered
                        # unclearly): it may have been carried out, or not; the next plan
                        # reads which.
                        outcome.status = "failed"
                        outcome.message = INTERRUPTED_STEP
                        self._report(outcome)
                    # Else none of its writes can have been carried out (not sent yet, or
                    # waiting to be tried again after a 429): it stays not started.
                    raise
                outcome.status = "done"
                outcome.id = ca_id
                self._report(outcome)

    def _report(self, outcome: ActionOutcome) -> None:
        if self.on_step is not None:
            self.on_step(outcome)

    async def seeds(self, group: list[tuple[ActionOutcome, int]]) -> None:
        """One group of seed actions, each with its CA's id: one call of the seeder."""
        assert self.seeder is not None
        first = self.groups == 0
        self.groups += 1
        try:
            results = await self.seeder({o.action.name: ca_id for o, ca_id in group}, first)
        except ReconcilerError as exc:
            results = {o.action.name: SeedResult(error=exc.message) for o, _ in group}
        for outcome, ca_id in group:
            result = results.get(outcome.action.name, SeedResult(error="not sent"))
            outcome.id = ca_id
            outcome.users = result.landed if result.error is None else None
            if result.error is None and not result.refused:
                outcome.status = "done"
            else:
                outcome.status = "failed"
                outcome.message = result.error or (
                    f"{result.refused:,} of its users were refused by the server (see the "
                    "rejects file)"
                )
                self.interrupted = self.interrupted or result.interrupted
                self.stop.set()
            self._report(outcome)

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
            raise ApiError(f"no id known for {quoted(action.name)} (its create did not run)")
        if action.action == "update":
            await self.client.update(ca_id, action.body, purpose=_purpose(action))
        elif action.action == "activate":
            await self.activate(ca_id, action)
        elif action.action == "discard_draft":
            await self.discard_draft(ca_id, action)
        elif action.action == "delete":
            await self.delete(ca_id, action)
        return ca_id

    async def create(self, action: Action, outcome: ActionOutcome) -> int:
        body = action.body
        purpose = _purpose(action)
        last: ApiError | None = None
        lost = False  # whether a create of ours may have taken effect unanswered
        for round_ in range(1, CREATE_ROUNDS + 1):
            if last is not None:
                await self.client.http.settle(
                    round_ - 1, last, f"the create of {quoted(action.name)}"
                )
            try:
                return await self.client.create(body, purpose=purpose)
            except ApiError as exc:
                if not (_ambiguous(exc) or _name_taken(exc)):
                    raise  # among them, a create that never left this machine
                last = exc
                lost = lost or _ambiguous(exc)
            # The answer was lost (or the name is taken, maybe by our own lost create):
            # look before creating again, so a fault can never make a duplicate.
            looking = self.client.find(
                action.name, purpose=f"look up {quoted(action.name)} by name"
            )
            existing = await _checked(last, looking, "looking it up by name")
            if existing is not None:
                outcome.adopted = True
                outcome.taken = not lost
                outcome.dropped = await self.match_draft(existing, body, purpose)
                return existing.id
            if last is not None and _name_taken(last):
                raise last
        assert last is not None
        raise last

    async def match_draft(self, existing: LiveCA, body: dict[str, Any], purpose: str) -> list[str]:
        """An adopted CA must hold exactly the draft we meant to create; the fields the
        models do not know of the draft this replaced (they are dropped with it). `purpose`:
        the create's, which the update is part of.

        Another run may have activated it already: its definition in use then counts, so
        that it is not re-sent and activated again (which restarts the calculation).
        """
        wanted = LiveDefinition.read(body["draft_definition"]).canonical
        held = existing.draft or existing.active
        if held == wanted and existing.description_text == body.get("description", ""):
            return []
        await self.client.update(existing.id, body, purpose=purpose)
        return existing.unknown_fields("draft_definition")

    async def activate(self, ca_id: int, action: Action) -> None:
        purpose = _purpose(action)
        last: ApiError | None = None
        for round_ in range(1, ACTIVATE_ROUNDS + 1):
            if last is not None:
                await self.client.http.settle(round_ - 1, last, f"the activation of CA {ca_id}")
            try:
                await self.client.activate(ca_id, purpose=purpose)
                return
            except ApiError as exc:
                last = exc
                if _says(exc, ACTIVE_LIMIT):
                    raise _active_limit(exc) from None
                no_draft = _says(exc, NO_DRAFT)
                if not (_ambiguous(exc) or no_draft):
                    raise  # among them, an activation that never left this machine
                reading = self.client.get(ca_id, purpose=f"read {quoted(action.name)} back")
                current = await _checked(exc, reading, "reading the CA back")
                if current.active_definition is not None and current.draft is None:
                    return  # the activation took effect; its answer was lost
                if no_draft:
                    raise
        raise ApiError(
            f"activation of CA {ca_id} did not take effect after {ACTIVATE_ROUNDS} tries"
        )

    async def discard_draft(self, ca_id: int, action: Action) -> None:
        try:
            await self.client.discard_draft(ca_id, purpose=_purpose(action))
        except NotFoundError as exc:
            reading = self.client.get(ca_id, purpose=f"read {quoted(action.name)} back")
            current = await _checked(exc, reading, "reading the CA back")
            if current.draft is not None:
                raise

    async def delete(self, ca_id: int, action: Action) -> None:
        try:
            await self.client.delete(ca_id, purpose=_purpose(action))
        except NotFoundError:
            return  # gone already: an earlier attempt's answer was lost


#: A step whose request was on its way when the apply was interrupted.
INTERRUPTED_STEP = "interrupted on its way: it may or may not have been carried out"


async def apply(
    plan: Plan,
    client: PlatformClient,
    *,
    concurrency: int = 8,
    on_step: Callable[[ActionOutcome], None] | None = None,
    seeder: Seeder | None = None,
) -> ApplyReport:
    """Run every action of `plan`; never raises for API failures (they are in the report),
    nor for an interrupt (the report says `interrupted`). A plan with `seed` actions needs
    a `seeder`."""
    outcomes = [ActionOutcome(action) for action in plan.actions]
    numbered = chains(plan)
    runner = _Runner(client, concurrency, on_step, seeder)
    try:
        for phase in phases(plan):
            if runner.stop.is_set():
                break
            await _run(phase, runner, outcomes, numbered)
    except asyncio.CancelledError:
        # Ctrl-C or SIGTERM (asyncio cancels the command's task): the report says what was
        # done and what not, and the command ends as interrupted. A second signal stops
        # at once, as ever.
        # The cancellation is handled here: withdrawn (Python 3.11+ counts them), so that
        # later waits (closing the client) are not cancelled again. Python 3.10 counts
        # none: the one delivered is spent.
        uncancel = getattr(asyncio.current_task(), "uncancel", None)
        if uncancel is not None:
            uncancel()
        runner.interrupted = True
    for positions in numbered:  # the steps not started of a created CA: its id too
        known = [outcomes[i].ca_id for i in positions if outcomes[i].ca_id is not None]
        for i in positions:
            if known and outcomes[i].id is None:
                outcomes[i].id = known[0]
    return ApplyReport(outcomes, interrupted=runner.interrupted)


async def _run(
    phase: Phase, runner: _Runner, outcomes: list[ActionOutcome], numbered: list[list[int]]
) -> None:
    def known_id(chain: int) -> int | None:
        """The CA's id as far as the chain got (a create's outcome has it)."""
        found = [outcomes[i].ca_id for i in numbered[chain] if outcomes[i].ca_id is not None]
        return found[0] if found else None

    if phase.kind == "steps":
        # Every chain ends before this returns or raises, an interrupted one too: a chain
        # cut off on its way records that in its outcome, which the report then shows.
        ended = await asyncio.gather(
            *(
                runner.chain([outcomes[i] for i in positions], known_id(chain))
                for chain, positions in phase.segments.items()
            ),
            return_exceptions=True,
        )
        for result in ended:
            if isinstance(result, BaseException):
                raise result
        return
    group = []
    for chain, (position,) in phase.segments.items():
        ca_id = known_id(chain)
        if ca_id is None:  # its create never ran: the stop came first
            continue
        group.append((outcomes[position], ca_id))
    if group:
        await runner.seeds(group)


def stale(plan: Plan, live: Sequence[LiveCA]) -> list[str]:
    """Why a saved plan no longer fits the workspace (empty when it still does)."""
    by_id = {ca.id: ca for ca in live}
    names = {ca.name for ca in live}
    found: list[str] = []
    for action in plan.actions:
        if action.id is None:
            if action.action == "create" and action.name in names:
                found.append(f"{quoted(action.name)} now exists (the plan would create it)")
            continue
        current = by_id.get(action.id)
        if current is None:
            found.append(f"{quoted(action.name)} (id {action.id}) no longer exists")
        elif current.fingerprint != plan.live.get(str(action.id)):
            found.append(f"{quoted(action.name)} (id {action.id}) changed since the plan was made")
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
                problems.append(f"{quoted(name)} still exists")
            continue
        current = by_name.get(name)
        if current is None:
            problems.append(f"{quoted(name)} does not exist")
            continue
        bodies = [a.body for a in actions if a.action in ("create", "update")]
        if bodies:
            wanted = LiveDefinition.read(bodies[-1]["draft_definition"]).canonical
            held = current.active if "activate" in kinds else (current.draft or current.active)
            if held != wanted:
                problems.append(f"{quoted(name)} does not hold the planned definition")
            if current.description_text != bodies[-1].get("description", ""):
                problems.append(f"{quoted(name)} does not have the planned description")
        if ("activate" in kinds or "discard_draft" in kinds) and current.draft is not None:
            problems.append(f"{quoted(name)} still has a draft")
        if "activate" in kinds and current.active is None:
            problems.append(f"{quoted(name)} is not active")
    return problems
