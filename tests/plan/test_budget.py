"""The active-CA budget (SPEC §9): what counts as active after a plan, the rule
`active-limit` and how the summary says it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SafetyError
from reconciler.manifest.loader import DesiredCA, Manifests
from reconciler.models import LiveCA
from reconciler.plan import markdown, render, safety
from reconciler.plan.budget import Budget, count_active
from reconciler.settings import SettingsFile, resolve
from reconciler.workspace import Workspace, planning
from tests.plan.states import DEFINITION, OTHER, found, make, want


def test_activations_of_inactive_cas_take_slots_and_deletes_of_active_ones_free_them() -> None:
    live = [
        found("Running", id=1, active=DEFINITION),
        found("Changed", id=2, active=DEFINITION),
        found("Staged", id=3, draft=DEFINITION),
        found("Unused", id=4, active=OTHER),
        found("Old draft", id=5, draft=OTHER),
    ]
    desired = [
        want("Running"),
        want("Changed", definition=OTHER),  # re-activating takes no new slot
        want("Staged"),  # activating a draft takes one
        want("New"),  # so does a create that activates
        want("Kept", active=False),  # a draft takes none
    ]
    plan = make(desired, live, prune=True)
    budget = Budget(count_active(live), limit=3)
    assert count_active(live) == 3
    assert [a.name for a in budget.activations(plan, live)] == ["New", "Staged"]
    assert [a.name for a in budget.freed(plan, live)] == ["Unused"]
    assert budget.after(plan, live) == 4
    refusal = budget.refusal(plan, live)
    assert refusal is not None
    assert refusal.startswith(
        "the plan would leave 4 CAs active, 1 over the account's limit of 3 (active_limit): "
        '3 are active now, deletes 1 active, and it activates 2 more ("New", "Staged").'
    )
    assert Budget(3, limit=4).refusal(plan, live) is None
    assert Budget(3).refusal(plan, live) is None  # no limit known: nothing refused


def test_the_rule_is_named_listed_and_allowed_like_the_others() -> None:
    desired = [want(f"CA {n:02}") for n in range(25)]
    plan = make(desired, [])
    budget = Budget(active_now=0, limit=20)
    (violation,) = safety.violations(plan, [], budget=budget)
    assert violation.rule == "active-limit"
    assert "25 CAs active, 5 over the account's limit of 20" in violation.message
    assert '"CA 00", "CA 01"' in violation.message
    assert "and 15 more" in violation.message  # the first ten are named
    with pytest.raises(SafetyError, match=r"\[active-limit\] the plan would leave 25") as caught:
        safety.check(plan, [], budget=budget)
    assert "--allow active-limit" in caught.value.message
    safety.check(plan, [], budget=budget, allowed=["active-limit"])
    safety.check(plan, [], budget=budget, force=True)


def test_every_live_active_ca_counts_whatever_the_scope() -> None:
    live = [found(f"Theirs {n}", id=n, active=DEFINITION) for n in range(1, 4)]
    file = SettingsFile(workspace_id=1, active_limit=4, scope=["Ours *"])
    ws = planning_workspace(file)
    planned = planning.build(ws, live, planning.Options())
    assert [a.name for a in planned.plan.actions] == ["Ours 1", "Ours 1", "Ours 2", "Ours 2"]
    assert planned.live == []  # out of scope: never unmanaged, never pruned ...
    assert planned.plan.summary.active_after == 5  # ... but they hold slots
    assert planned.plan.summary.active_limit == 4
    assert [v.rule for v in planned.refused] == ["active-limit"]
    allowed = planning.build(ws, live, planning.Options(allowed=("active-limit",)))
    assert allowed.refused == []
    assert [v.rule for v in allowed.plan.overridden] == ["active-limit"]


def planning_workspace(file: SettingsFile) -> Workspace:
    cas = tuple(DesiredCA(want(f"Ours {n}"), "cas.yaml", n) for n in (1, 2))
    manifests = Manifests(Path("m"), file, cas, ("cas.yaml",))
    environ = {"MPARTICLE_API_URL": "http://127.0.0.1:9", "MPARTICLE_CLIENT_ID": "c"}
    return Workspace(manifests, resolve(Path("m"), file, environ=environ))


def test_the_summary_ends_with_the_active_count() -> None:
    plan = make([want("New")], [found("Old", id=1, active=DEFINITION)])
    counted = planning.with_budget(plan, Budget(1, limit=100), [])
    assert render.summary_line(counted).endswith(
        "0 unchanged, 1 unmanaged. Active after apply: 2 of 100."
    )
    assert "**Plan: 1 to create" in markdown.markdown(counted)
    assert "Active after apply: 2 of 100.**" in markdown.markdown(counted)
    unknown = planning.with_budget(plan, Budget(1), [])
    assert render.summary_line(unknown).endswith("Active after apply: 2.")
    assert counted.summary.model_dump(include={"active_after", "active_limit"}) == {
        "active_after": 2,
        "active_limit": 100,
    }
    empty = planning.with_budget(make([], []), Budget(0, limit=5), [])
    assert render.summary_line(empty) == (
        "No changes. 0 unchanged, 0 unmanaged. Active after apply: 0 of 5."
    )
    assert render.summary_line(plan) == (  # a plan that knows no count (format 1)
        "Plan: 1 to create, 0 to update, 0 drafts to discard, 1 to activate, 0 to delete. "
        "0 unchanged, 1 unmanaged."
    )


def over_the_limit() -> list[LiveCA]:
    """Ten active CAs: twice what an account with a limit of 5 may have."""
    return [found(f"CA {n}", id=n + 1, active=DEFINITION) for n in range(10)]


def test_a_plan_that_activates_nothing_new_is_never_refused_for_the_limit() -> None:
    """Ten active CAs and a limit of 5 refused even "No changes" (and a description fix,
    and the prune that frees slots): only an activation can be refused by mParticle."""
    live = over_the_limit()
    budget = Budget(count_active(live), limit=5)
    cas = [want(ca.name) for ca in live]
    unchanged = make(cas, live)
    assert unchanged.empty
    described = make([want("CA 0", description="new"), *cas[1:]], live)
    assert [a.action for a in described.actions] == ["update"]
    redefined = make([want("CA 0", OTHER), *cas[1:]], live)  # active already: no new slot
    assert [a.action for a in redefined.actions] == ["update", "activate"]
    pruned = make(cas[:8], live, prune=True)
    assert [a.action for a in pruned.actions] == ["delete", "delete"]
    for plan in (unchanged, described, redefined, pruned):
        assert budget.refusal(plan, live) is None
        assert safety.violations(plan, live, budget=budget) == []
    assert budget.after(unchanged, live) == 10  # still over: the summary says so
    assert budget.after(pruned, live) == 8


def test_a_plan_that_takes_a_slot_and_ends_past_the_limit_is_refused() -> None:
    """Even when its deletes lower the count: once they are done the activation still
    finds the account full, and mParticle refuses it halfway through the apply."""
    live = over_the_limit()
    budget = Budget(count_active(live), limit=5)
    plan = make([*(want(ca.name) for ca in live[:7]), want("New")], live, prune=True)
    assert budget.after(plan, live) == 8
    refusal = budget.refusal(plan, live)
    assert refusal is not None
    assert refusal.startswith(
        "the plan would leave 8 CAs active, 3 over the account's limit of 5 (active_limit): "
        '10 are active now, deletes 3 active, and it activates 1 more ("New").'
    )
