"""Seeds in a plan (SPEC §9, `plan|apply --seeds FILE`): a `seed` action per CA the file
seeds, placed in that CA's steps in the order mParticle recommends. Pure: the file was read
and counted, and the record of earlier runs consulted, before (`workspace.seeds`).

Per CA the file seeds:
- the plan writes it (create, update) and activates it: write → seed → activate, so that
  the CA is never active without its seeds (the apply waits for the Seeding API to learn
  the written CA before it sends);
- the plan does not touch it: just `seed`, sent at once, before anything is written;
- it is active and the plan changes the calculation type or cutoff date its seeds carry:
  mParticle matches seeds to the definition in use, which the new one is only once active
  (and the change discards the old seeds), so: write → activate → seed, with a warning;
- it stays active with another definition (`active: false` keeps the change a draft):
  its seeds could never match, and the plan refuses;
- its seeds from this very file all landed in an earlier run (the record says so for this
  CA id, calculation type and cutoff, and they are still in use): nothing to send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from reconciler.errors import Blocker, PlanError, quoted
from reconciler.models import CanonicalDefinition, LiveCA
from reconciler.plan.value import Action, Plan, SeedSource, summarize

#: What seeds carry and must match: (calculation type, cutoff date `yyyy-MM-dd`).
Shape = tuple[str, str | None]
AFTER_ACTIVATION = (
    "seeded after the activation: mParticle takes seeds for the definition in use, and the "
    "new calculation type or cutoff date is in use only once active (the change discards "
    "the old seeds)"
)
#: The field a CA seeded needs (placed where its `seeding` or `definition` is, if unwritten).
CUTOFF = ("definition", "seeding", "cutoff_date")
ROLLING = "rolling window: mParticle does not support seeding it (seeded values never expire)"


@dataclass(frozen=True)
class Seeded:
    """A CA whose seeds from the plan's file all landed in an earlier run."""

    id: int
    shape: Shape


@dataclass(frozen=True)
class SeedFacts:
    """What the seed file holds, per CA, and what earlier runs sent of it."""

    source: SeedSource
    #: CA name -> users of the file seeding it.
    users: Mapping[str, int]
    #: CA name -> the calculation type and cutoff its seeds carry (the manifests').
    shapes: Mapping[str, Shape]
    #: CA name -> what the record of earlier runs says landed completely.
    seeded: Mapping[str, Seeded] = field(default_factory=dict)
    #: CA names with a rolling (`within`) window.
    rolling: frozenset[str] = frozenset()


def shape_of(definition: CanonicalDefinition | None) -> Shape | None:
    """The seed shape a definition takes; None when it takes no seeds (no cutoff)."""
    if definition is None or definition["seeding"] is None:
        return None
    return (definition["calculation_type"] or "", definition["seeding"]["cutoff_date"][:10])


def in_use(live: LiveCA | None) -> CanonicalDefinition | None:
    """The definition the Seeding API matches seeds to: the active one, else the draft."""
    if live is None:
        return None
    return live.active if live.active is not None else live.draft


Chain = list[Action]


def _chains(actions: Sequence[Action]) -> list[Chain]:
    return [list(group) for _, group in groupby(actions, key=lambda a: (a.name, a.id))]


def _first_phase(chain: Chain) -> bool:
    return any(a.renames or a.action == "delete" for a in chain)


class _Seeder:
    def __init__(self, facts: SeedFacts, live: Sequence[LiveCA], declared: Iterable[str]):
        self.facts = facts
        self.by_id = {ca.id: ca for ca in live}
        self.by_name = {ca.name: ca for ca in live}
        self.declared = set(declared)
        self.errors: list[Blocker] = []
        self.touched: list[LiveCA] = []

    def live_of(self, name: str, chain: Chain) -> LiveCA | None:
        ids = {a.id for a in chain if a.id is not None}
        return self.by_id.get(next(iter(ids))) if ids else self.by_name.get(name)

    def seeded(self, name: str, live: LiveCA | None, shape: Shape) -> bool:
        """Its seeds from this file landed earlier and are still those in use."""
        record = self.facts.seeded.get(name)
        return (
            live is not None
            and record is not None
            and record.id == live.id
            and record.shape == shape
            and shape_of(in_use(live)) == shape
        )

    def chain(self, name: str, chain: Chain) -> Chain:
        """The CA's steps with its seed action in place (unchanged when nothing is sent)."""
        shape = self.facts.shapes.get(name)
        if name not in self.declared:
            self.errors.append(
                Blocker(
                    f"the seed file seeds {quoted(name)}, which this plan does not cover (not "
                    "selected by --only/--exclude, or not declared in this environment): widen "
                    "the selection, or leave its seeds out of the file"
                )
            )
            return chain
        if shape is None or shape[1] is None:
            message = (
                f"the seed file seeds {quoted(name)}, whose manifest has no seeding.cutoff_date: "
                "mParticle takes seeds only for a CA defined with one; add it, or leave its "
                "seeds out of the file"
            )
            self.errors.append(Blocker(message, name, CUTOFF))
            return chain
        live = self.live_of(name, chain)
        if self.seeded(name, live, shape):
            return chain
        return self.placed(name, chain, live, shape)

    def placed(self, name: str, chain: Chain, live: LiveCA | None, shape: Shape) -> Chain:
        kinds = [a.action for a in chain]
        active_shape = shape_of(live.active) if live is not None else None
        changes_in_use = live is not None and live.active is not None and active_shape != shape
        if changes_in_use and "activate" not in kinds:
            message = (
                f"the seed file seeds {quoted(name)} as {shape[0]} with cutoff {shape[1]}, but the "
                "definition in use stays the active one"
                + (f" ({active_shape[0]}, cutoff {active_shape[1]})" if active_shape else "")
                + " while active: false keeps the new one a draft; mParticle matches seeds to "
                "the definition in use. Activate the change (active: true), or seed later"
            )
            self.errors.append(Blocker(message, name, ("active",)))
            return chain
        warnings = [AFTER_ACTIVATION] if changes_in_use else []
        warnings += [ROLLING] if name in self.facts.rolling else []
        action = Action(
            action="seed",
            name=name,
            id=live.id if live is not None else None,
            warnings=warnings,
            body={"calculation_type": shape[0], "cutoff_date": shape[1]},
            users=self.facts.users[name],
        )
        if live is not None:
            self.touched.append(live)
        if changes_in_use or "activate" not in kinds:
            return [*chain, action]
        at = kinds.index("activate")
        return [*chain[:at], action, *chain[at:]]


def with_seeds(
    plan: Plan, live: Sequence[LiveCA], facts: SeedFacts, declared: Iterable[str]
) -> Plan:
    """`plan` with a seed action per CA of the file (those the record shows seeded aside);
    raises PlanError when the file seeds a CA whose seeds could not land. `live`: the CAs
    the plan was made from; `declared`: the names of the CAs it covers."""
    seeder = _Seeder(facts, live, declared)

    def visit(chain: Chain) -> Chain:
        name = chain[0].name
        seeds = name in facts.users and chain[0].action != "delete"
        return seeder.chain(name, chain) if seeds else chain

    chains = [visit(chain) for chain in _chains(plan.actions)]
    named = {chain[0].name for chain in chains if chain[0].action != "delete"}
    alone = [seeder.chain(name, []) for name in sorted(facts.users) if name not in named]
    if seeder.errors:
        raise PlanError(seeder.errors)
    first = [chain for chain in chains if _first_phase(chain)]
    rest = [chain for chain in chains + alone if chain and not _first_phase(chain)]
    rest.sort(key=lambda chain: chain[0].name)
    actions = [action for chain in [*first, *rest] for action in chain]
    seeded_alone = sum(1 for chain in alone if chain)
    summary = summarize(actions, plan.summary.unchanged - seeded_alone, plan.summary.unmanaged)
    summary = summary.model_copy(
        update={
            "active_after": plan.summary.active_after,
            "active_limit": plan.summary.active_limit,
        }
    )
    fingerprints = {**plan.live, **{str(ca.id): ca.fingerprint for ca in seeder.touched}}
    return plan.model_copy(
        update={"actions": actions, "summary": summary, "seeds": facts.source, "live": fingerprints}
    )
