"""Safety rules (SPEC §4.5): what a plan may not do without `--force`.

Deleting a CA that audiences use, or touching more than 30% of a workspace of 10 or more
CAs, is refused. Checked by `plan` (to warn early) and by `apply` (to refuse).
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.errors import SafetyError
from reconciler.plan import Plan

THRESHOLD = 0.30
MIN_WORKSPACE = 10


def violations(plan: Plan, audience_counts: Mapping[int, int]) -> list[str]:
    """Reasons to refuse `plan`; `audience_counts` maps live CA id -> audience_count."""
    found: list[str] = []
    for action in plan.actions:
        if action.action == "delete" and action.id is not None:
            count = audience_counts.get(action.id, 0)
            if count > 0:
                found.append(
                    f'deleting "{action.name}" (id {action.id}) breaks {count} audience'
                    f"{'s' if count != 1 else ''} that use it"
                )
    size = len(plan.live)
    touched = {
        a.id
        for a in plan.actions
        if a.id is not None and a.action in ("update", "activate", "delete")
    }
    if size >= MIN_WORKSPACE and len(touched) > THRESHOLD * size:
        found.append(
            f"the plan changes or deletes {len(touched)} of the workspace's {size} CAs "
            f"(more than {THRESHOLD:.0%})"
        )
    return found


def check(plan: Plan, audience_counts: Mapping[int, int], *, force: bool) -> None:
    """Raise SafetyError listing every violation, unless forced."""
    found = violations(plan, audience_counts)
    if found and not force:
        reasons = "; ".join(found)
        raise SafetyError(f"refusing this plan without --force: {reasons}.")
