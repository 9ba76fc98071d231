"""Safety rules (SPEC §4.5) on hand-built plans: deleting CAs audiences use, and changing
or deleting a large share of a workspace of 10 or more CAs, refused unless forced."""

from __future__ import annotations

import pytest

from reconciler.errors import SafetyError
from reconciler.models import LiveCA
from reconciler.plan import safety
from reconciler.plan.value import GateCheck, Plan, Promotion
from reconciler.settings import SafetyPolicy
from tests.plan.states import DEFINITION, OTHER, found, make, want


def test_safety_refuses_deleting_used_cas_without_force() -> None:
    live = [found("Legacy", id=3, active=OTHER, audiences=2)]
    plan = make([], live, prune=True)
    with pytest.raises(SafetyError, match="breaks 2 audiences"):
        safety.check(plan, live, force=False)
    safety.check(plan, live, force=True)


@pytest.mark.parametrize(
    ("count", "sent"), [(None, "no audience_count"), (-1, "audience_count -1")]
)
def test_deleting_a_ca_whose_audience_count_is_unknown_is_refused(
    count: int | None, sent: str
) -> None:
    """Read as `audience_count or 0`, a count the answer did not give (or -1, "unknown")
    passed for no audience, and prune deleted the CA."""
    live = [found("Legacy", id=3, active=OTHER, audiences=count)]
    plan = make([], live, prune=True)
    assert [(v.rule, v.message) for v in safety.violations(plan, live)] == [
        (
            "delete-in-use",
            'deleting "Legacy" (id 3) may break audiences that use it: the API\'s answer does '
            f"not say how many do ({sent}); check in mParticle which audiences use it",
        )
    ]
    with pytest.raises(SafetyError, match="pass --allow delete-in-use"):
        safety.check(plan, live)
    safety.check(plan, live, allowed=["delete-in-use"])


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


def touching(changed: int, size: int) -> tuple[list[LiveCA], Plan]:
    """A workspace of `size` active CAs and a plan that changes the first `changed`."""
    live = [found(f"CA {n:03}", id=n + 1, active=DEFINITION) for n in range(size)]
    desired = [want(f"CA {n:03}", OTHER if n < changed else DEFINITION) for n in range(size)]
    return live, make(desired, live)


@pytest.mark.parametrize(
    ("changed", "size", "percent"), [(29, 50, 58), (29, 100, 29), (57, 100, 57), (2, 16, 12.5)]
)
def test_a_change_of_exactly_max_change_percent_is_not_over_it(
    changed: int, size: int, percent: float
) -> None:
    """0.58 * 50 is 28.999... in floating point: 29 of 50 was refused as more than 58%."""
    live, plan = touching(changed, size)
    policy = SafetyPolicy(max_change_percent=percent)
    assert safety.violations(plan, live, policy) == []
    live, plan = touching(changed + 1, size)
    (violation,) = safety.violations(plan, live, policy)
    assert violation.rule == "threshold"


def test_the_threshold_names_the_percentage_as_written() -> None:
    """`{limit:.0%}` said "more than 12%" for max_change_percent: 12.5."""
    live, plan = touching(3, 16)
    messages = [
        v.message for v in safety.violations(plan, live, SafetyPolicy(max_change_percent=12.5))
    ]
    assert messages == ["the plan changes or deletes 3 of the workspace's 16 CAs (more than 12.5%)"]
    messages = [
        v.message for v in safety.violations(plan, live, SafetyPolicy(max_change_percent=10))
    ]
    assert messages == ["the plan changes or deletes 3 of the workspace's 16 CAs (more than 10%)"]


def test_a_refused_delete_quotes_the_name_as_the_plan_does() -> None:
    """A line break in a live CA's name split the refusal, a `"` in it read as its end."""
    live = [found('Evil "x" \n\u202eboN', id=3, active=OTHER)]
    plan = make([], live, prune=True)
    with pytest.raises(SafetyError) as caught:
        safety.check(plan, live, force=False, policy=SafetyPolicy(allow_delete=False))
    assert (
        '[delete] deleting "Evil \\"x\\" \\n\\u202eboN" (id 3): this environment does not '
        "allow deletes"
    ) in caught.value.message
    assert "\n" not in caught.value.message


def test_the_promotion_rule_names_the_first_few_cas_waiting() -> None:
    """A promotion of hundreds of CAs was refused in one line naming every one: a CI log
    line of tens of kilobytes. The plan's gate lists every check; the message, a few."""
    plan = make([], [])
    checks = [
        GateCheck(name=f"CA {n:03d}", promoted=False, reason="not yet created in staging")
        for n in range(25)
    ]
    gated = plan.model_copy(update={"promotion": Promotion(source="staging", checks=checks)})
    (violation,) = safety.violations(gated, [])
    assert violation.rule == "promotion"
    assert violation.message == (
        ", ".join(f'"CA {n:03d}" is not yet created in staging' for n in range(10))
        + ", and 15 more: apply --env staging first"
    )
