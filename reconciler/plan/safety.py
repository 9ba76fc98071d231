"""Safety rules (SPEC §4.5, §8): what a plan may not do unless the rule is allowed.

A table of named rules, each a function of the facts a plan was made from (the plan, the
in-scope live CAs, the environment's `safety:` policy, the account's active-CA budget)
returning the reasons it refuses.
`--allow RULE` lets one rule through, `--force` all of them; what an allowed rule let
through is kept in the plan (`overridden`) so that a reviewer sees it. Checked by `plan`
(a refused plan is shown, but not saved) and by `apply` (nothing is sent). A new rule
joins with `@rule("name")`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from reconciler.errors import SafetyError, SettingsError, first_few, quoted
from reconciler.models import LiveCA
from reconciler.plan.budget import Budget
from reconciler.plan.promotion import described, held_back
from reconciler.plan.value import Plan, Violation
from reconciler.settings import SafetyPolicy


@dataclass(frozen=True)
class Facts:
    """What the rules read: the plan and the live CAs (in scope) it was made from; the
    budget counts every active CA of the workspace (the limit is the account's)."""

    plan: Plan
    live: Sequence[LiveCA]
    policy: SafetyPolicy = field(default_factory=SafetyPolicy)
    budget: Budget | None = None


Rule = Callable[[Facts], list[str]]
#: Every rule by name, in the order they are reported.
RULES: dict[str, Rule] = {}
#: The rules about the plan as a whole, whose reasons hold counts of the workspace (not
#: one CA each): a saved plan that showed one overridden has it waived whatever the counts
#: are by the time it is applied (`workspace.saved.refused`).
WHOLE_PLAN: set[str] = set()


def rule(name: str, *, whole_plan: bool = False) -> Callable[[Rule], Rule]:
    """Register a rule under `name` (the word `--allow` takes); `whole_plan` for a rule
    about the plan as a whole rather than about each CA it names."""

    def register(function: Rule) -> Rule:
        RULES[name] = function
        if whole_plan:
            WHOLE_PLAN.add(name)
        return function

    return register


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


@rule("threshold", whole_plan=True)
def _threshold(facts: Facts) -> list[str]:
    # What is live: deletes, and changes to CAs that are active. Staging or activating a
    # CA that was never active changes nothing anyone uses yet.
    by_id = {ca.id: ca for ca in facts.live}
    size = len(facts.live)
    touched = {
        a.id
        for a in facts.plan.actions
        if a.id in by_id
        and (a.action == "delete" or (a.action in ("update", "activate") and by_id[a.id].active))
    }
    percent = _as_written(facts.policy.max_change_percent)
    # Exact decimal arithmetic: in floats 0.58 * 50 is 28.999..., which refused a change of
    # exactly 58%.
    if size < facts.policy.min_workspace_size or len(touched) * 100 <= percent * size:
        return []
    return [
        f"the plan changes or deletes {len(touched)} of the workspace's {size} CAs "
        f"(more than {percent:f}%)"
    ]


def _as_written(number: float) -> Decimal:
    """A setting's number as the user wrote it (`58`, `12.5`): the shortest decimal that
    reads back as the same float, without a trailing `.0`."""
    return Decimal(repr(number)).normalize()


@rule("delete")
def _delete(facts: Facts) -> list[str]:
    if facts.policy.allow_delete:
        return []
    return [
        f"deleting {quoted(action.name)} (id {action.id}): this environment does not allow deletes "
        "(safety.allow_delete: false)"
        for action in facts.plan.actions
        if action.action == "delete"
    ]


@rule("delete-in-use")
def _delete_in_use(facts: Facts) -> list[str]:
    # A count the answer does not give is not "no audience": deleting on that reading is
    # the one mistake that cannot be undone, so an unknown count refuses as a known one.
    by_id = {ca.id: ca for ca in facts.live}
    found: list[str] = []
    for action in facts.plan.actions:
        if action.action == "delete" and action.id is not None and action.id in by_id:
            live = by_id[action.id]
            count = live.audiences
            named = f"deleting {quoted(action.name)} (id {action.id})"
            if count is None:
                sent = (
                    "no audience_count"
                    if live.audience_count is None
                    else f"audience_count {live.audience_count}"
                )
                found.append(
                    f"{named} may break audiences that use it: the API's answer does not say "
                    f"how many do ({sent}); check in mParticle which audiences use it"
                )
            elif count > 0:
                found.append(f"{named} breaks {_plural(count, 'audience')} that use it")
    return found


@rule("activations", whole_plan=True)
def _activations(facts: Facts) -> list[str]:
    limit = facts.policy.max_activations
    count = sum(1 for action in facts.plan.actions if action.action == "activate")
    if limit is None or count <= limit:
        return []
    return [
        f"the plan activates {count} CAs (more than safety.max_activations: {limit}); each "
        "activation starts a recalculation"
    ]


@rule("drafts")
def _drafts(facts: Facts) -> list[str]:
    return [
        f"{quoted(note.name)} (id {note.id}) holds a draft made outside Git that this plan would "
        "replace (drafts: preserve)"
        for note in facts.plan.drafts
        if not note.kept
    ]


@rule("promotion")
def _promotion(facts: Facts) -> list[str]:
    promotion = facts.plan.promotion
    waiting = [c for c in promotion.checks if not c.promoted] if promotion else []
    if promotion is None or not waiting:
        return []
    source = promotion.source
    held = [c for c in waiting if held_back(c, source)]
    messages = []
    if len(held) < len(waiting):
        named = [f"{quoted(c.name)} is {c.reason}" for c in waiting if c not in held]
        messages.append(f"{first_few(named, ', ', ', ')}: apply --env {source} first")
    if held:
        # Each placed where its manifest holds it back, when the plan knows (`held_by`).
        named = [f"{quoted(c.name)} is {described(c)}" for c in held]
        them = "it" if len(held) == 1 else "them"
        messages.append(
            f"{first_few(named, ', ', ', ')}: {source}'s own manifests do not run {them}, so no "
            f"apply of {source} passes the gate; declare {them} there, active, first"
        )
    return messages


@rule("active-limit", whole_plan=True)
def _active_limit(facts: Facts) -> list[str]:
    refused = facts.budget.refusal(facts.plan, facts.live) if facts.budget else None
    return [refused] if refused is not None else []


def violations(
    plan: Plan,
    live: Sequence[LiveCA],
    policy: SafetyPolicy | None = None,
    budget: Budget | None = None,
) -> list[Violation]:
    """Every rule `plan` breaks against the live CAs it was made from."""
    facts = Facts(plan, live, policy or SafetyPolicy(), budget)
    return [
        Violation(rule=name, message=message)
        for name, check in RULES.items()
        for message in check(facts)
    ]


def allowed_rules(words: Iterable[str], *, force: bool = False) -> list[str]:
    """The rules `--allow` names (every rule with `--force`); an unknown name is an error
    with did-you-mean."""
    from reconciler.manifest.diagnostics import suggest

    if force:
        return list(RULES)
    chosen: list[str] = []
    for word in words:
        if word not in RULES:
            hint = suggest(word, list(RULES))
            advice = f"did you mean `{hint}`? " if hint else ""
            raise SettingsError(
                f"--allow {word}: no such safety rule; {advice}the rules are {', '.join(RULES)}"
            )
        if word not in chosen:
            chosen.append(word)
    return chosen


def refusal(refused: Sequence[Violation], environment: str | None = None) -> SafetyError:
    """One paragraph: each refused rule with its reasons, and how to allow it."""
    parts: list[str] = []
    for name in dict.fromkeys(v.rule for v in refused):
        reasons = "; ".join(v.message for v in refused if v.rule == name)
        parts.append(f"[{name}] {reasons}")
    rules = " ".join(f"--allow {name}" for name in dict.fromkeys(v.rule for v in refused))
    which = f"the plan for environment {environment}" if environment else "this plan"
    return SafetyError(
        f"refusing {which}: {'. '.join(parts)}. If that is intended, pass {rules} "
        "(or --force to allow every rule)."
    )


def check(
    plan: Plan,
    live: Sequence[LiveCA],
    *,
    force: bool = False,
    allowed: Iterable[str] = (),
    policy: SafetyPolicy | None = None,
    budget: Budget | None = None,
) -> None:
    """Raise SafetyError naming every violation of a rule that is not allowed."""
    permitted = set(allowed_rules(allowed, force=force))
    refused = [v for v in violations(plan, live, policy, budget) if v.rule not in permitted]
    if refused:
        raise refusal(refused)
