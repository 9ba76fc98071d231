"""Safety rules (SPEC §4.5) on hand-built plans: deleting CAs audiences use, and changing
or deleting a large share of a workspace of 10 or more CAs, refused unless forced."""

from __future__ import annotations

import pytest

from reconciler.errors import SafetyError
from reconciler.plan import safety
from tests.plan.states import DEFINITION, OTHER, found, make, want


def test_safety_refuses_deleting_used_cas_without_force() -> None:
    live = [found("Legacy", id=3, active=OTHER, audiences=2)]
    plan = make([], live, prune=True)
    with pytest.raises(SafetyError, match="breaks 2 audiences"):
        safety.check(plan, live, force=False)
    safety.check(plan, live, force=True)


def test_safety_threshold_counts_touched_share_of_large_workspaces() -> None:
    live = [found(f"CA {n}", id=n, active=DEFINITION) for n in range(10)]
    desired = [want(f"CA {n}", definition=OTHER if n < 4 else DEFINITION) for n in range(10)]
    plan = make(desired, live)
    with pytest.raises(SafetyError, match="changes or deletes 4 of the workspace's 10 CAs"):
        safety.check(plan, live, force=False)
    three = [want(f"CA {n}", definition=OTHER if n < 3 else DEFINITION) for n in range(10)]
    safety.check(make(three, live), live, force=False)
    small = make(desired[:4], live[:4])
    safety.check(small, live[:4], force=False)  # workspaces under 10 CAs are exempt


def test_activating_staged_drafts_is_not_a_large_change() -> None:
    live = [found(f"CA {n}", id=n, draft=DEFINITION) for n in range(10)]
    plan = make([want(f"CA {n}") for n in range(10)], live)
    assert [a.action for a in plan.actions] == ["activate"] * 10
    safety.check(plan, live, force=False)


def test_deleting_a_ca_no_audience_uses_is_allowed() -> None:
    live = [found("Legacy", id=3, active=OTHER)]
    plan = make([], live, prune=True)
    assert [a.action for a in plan.actions] == ["delete"]
    assert safety.violations(plan, live) == []


def test_every_violation_is_listed_at_once() -> None:
    live = [found(f"CA {n}", id=n, active=DEFINITION, audiences=n % 2) for n in range(10)]
    plan = make([want(f"CA {n}") for n in range(6)], live, prune=True)
    found_ = [(v.rule, v.message) for v in safety.violations(plan, live)]
    assert [f for f in found_ if "breaks 1 audience that use it" in f[1]] == [
        ("delete-in-use", 'deleting "CA 7" (id 7) breaks 1 audience that use it'),
        ("delete-in-use", 'deleting "CA 9" (id 9) breaks 1 audience that use it'),
    ]
    assert (
        "threshold",
        "the plan changes or deletes 4 of the workspace's 10 CAs (more than 30%)",
    ) in found_
    with pytest.raises(SafetyError) as caught:
        safety.check(plan, live, force=False)
    assert all(message in caught.value.message for _, message in found_)


def test_description_changes_of_active_cas_count_towards_the_threshold() -> None:
    live = [found(f"CA {n}", id=n, active=DEFINITION) for n in range(10)]
    plan = make([want(f"CA {n}", description="new" if n < 4 else None) for n in range(10)], live)
    assert [a.action for a in plan.actions] == ["update"] * 4
    with pytest.raises(SafetyError, match="4 of the workspace's 10"):
        safety.check(plan, live, force=False)
