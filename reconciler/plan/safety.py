"""Safety rules (SPEC §4.5): what a plan may not do without `--force`.

Deleting a CA that audiences use, or deleting or changing the active definition (or the
description) of more than 30% of a workspace of 10 or more CAs, is refused. Checked by
`plan` (to warn early) and by `apply` (to refuse).
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import SafetyError
from reconciler.models import LiveCA
from reconciler.plan.value import Plan

THRESHOLD = 0.30
MIN_WORKSPACE = 10


def violations(plan: Plan, live: Sequence[LiveCA]) -> list[str]:
    """Reasons to refuse `plan` against the live CAs it was made from."""
    by_id = {ca.id: ca for ca in live}
    found: list[str] = []
    for action in plan.actions:
        if action.action == "delete" and action.id is not None and action.id in by_id:
            count = by_id[action.id].audience_count or 0
            if count > 0:
                found.append(
                    f'deleting "{action.name}" (id {action.id}) breaks {count} audience'
                    f"{'s' if count != 1 else ''} that use it"
                )
    # What is live: deletes, and changes to CAs that are active. Staging or activating a
    # CA that was never active changes nothing anyone uses yet.
    size = len(live)
    touched = {
        a.id
        for a in plan.actions
        if a.id in by_id
        and (a.action == "delete" or (a.action in ("update", "activate") and by_id[a.id].active))
    }
    if size >= MIN_WORKSPACE and len(touched) > THRESHOLD * size:
        found.append(
            f"the plan changes or deletes {len(touched)} of the workspace's {size} CAs "
            f"(more than {THRESHOLD:.0%})"
        )
    return found


def check(plan: Plan, live: Sequence[LiveCA], *, force: bool) -> None:
    """Raise SafetyError listing every violation, unless forced."""
    found = violations(plan, live)
    if found and not force:
        reasons = "; ".join(found)
        raise SafetyError(f"refusing this plan without --force: {reasons}.")
