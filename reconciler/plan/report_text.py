"""The apply report as text (the report value is `report`): each step's line as apply
prints it while it runs, and the report at the end: one line when all went well, else
the steps counted and how far each CA got. `--format json` is the report's own
`document`. Names and messages are escaped and quoted as `render` says.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text

from reconciler.errors import first_few, printable, quoted
from reconciler.plan.render import action_title, users_text
from reconciler.plan.report import ActionOutcome, ApplyReport, CaProgress, Status
from reconciler.plan.value import KINDS

#: The mark of an action's outcome in the apply report.
MARK: dict[Status, str] = {"done": "✓", "failed": "✗", "not_started": "·"}
#: How many not-started steps, and CAs that neither failed nor stopped part-way, the text
#: report of a stopped apply names (the JSON report has every one).
SHOWN_STEPS = 20


#: What the text report says of a create that adopted the CA of its name, by why
#: (`ActionOutcome.adopted_because`, which the JSON report gives as it is).
ADOPTED_NOTES = {
    "lost_answer": " (adopted: it existed after a lost answer)",
    "name_taken": " (adopted: its name was taken since the plan, by another run or a retry of "
    "this one)",
}


#: How the report's first line counts the creates that adopted the CA of their name, by
#: why, in the words of their steps' notes (`ADOPTED_NOTES`).
ADOPTED_COUNTS = {
    "lost_answer": "{} after a lost answer",
    "name_taken": "{} whose name was taken since the plan",
}


def _adoptions(report: ApplyReport) -> str:
    """` (adopted: 33 after a lost answer)` after the done steps' count, or nothing: each
    adopted create said so on its own line, and a long apply's summary did not."""
    counts = [ADOPTED_COUNTS[why].format(n) for why, n in report.adopted().items() if n]
    return f" (adopted: {', '.join(counts)})" if counts else ""


def _dropped_note(paths: list[str]) -> str:
    """What a create that adopted a CA holding fields the models do not know says of them
    (in the words of the plan's warning, `planner.drops_fields`)."""
    if not paths:
        return ""
    return (
        f"; it held fields the reconciler does not know ({first_few(paths, ', ', ', ')}): "
        "writing the manifest's definition replaced the definition and dropped them"
    )


def outcome_title(outcome: ActionOutcome) -> str:
    """`activate "LTV" (id 7)`, and a note when a create adopted the CA of its name (its
    own lost create's, or someone else's), with the fields the models do not know that
    writing over it dropped; a seed says how many users' seeds landed."""
    adopted = ADOPTED_NOTES.get(outcome.adopted_because or "", "") + _dropped_note(outcome.dropped)
    action = outcome.action
    if action.action == "seed":
        where = f" (id {outcome.ca_id})" if outcome.ca_id is not None else ""
        landed = f": {users_text(outcome.users)} seeded" if outcome.users is not None else ""
        return f"{action.kind.verb} {quoted(action.name)}{where}{landed}"
    return action_title(action, outcome.ca_id) + adopted


def progress_line(progress: CaProgress) -> str:
    """One CA as the report sums it up: `"LTV" (id 7): drafted, seeded (1,200 users),
    activated`, or how far it got and what did not start."""
    where = f" (id {progress.id})" if progress.id is not None else ""
    words = [
        f"seeded ({users_text(progress.users or 0)})" if word == "seeded" else word
        for word in progress.reached
    ]
    parts = [", ".join(words)] if words else []
    if progress.failed is not None:
        parts.append(f"{progress.failed.kind.verb} failed: {printable(progress.message)}")
    if progress.not_started:
        verbs = ", ".join(KINDS[kind].verb for kind in progress.not_started)
        parts.append("not started" if not parts else f"{verbs} not started")
    return f"{quoted(progress.name)}{where}: " + "; ".join(parts)


def _eventful(progress: CaProgress) -> bool:
    """A CA the text report always shows: one step failed (or was cut off on its way), or
    it stopped part-way (some steps done, others not started)."""
    return progress.failed is not None or bool(progress.reached and progress.not_started)


def _per_ca(report: ApplyReport) -> list[Text]:
    """`Per CA:` every CA that failed or stopped part-way, and the first `SHOWN_STEPS` of the
    others, the rest counted: a stop among 4,000 CAs listed every one of them again."""
    lines = [Text("Per CA:")]
    rest: list[CaProgress] = []
    quiet = 0
    for progress in report.cas():
        eventful = _eventful(progress)
        quiet += not eventful
        if eventful or quiet <= SHOWN_STEPS:
            lines.append(Text(f"  {progress_line(progress)}"))
        else:
            rest.append(progress)
    if rest:
        untouched = sum(1 for progress in rest if not progress.reached)
        counts = {"done": len(rest) - untouched, "not started": untouched}
        summed = ", ".join(f"{count} {word}" for word, count in counts.items() if count)
        lines.append(Text(f"  … and {len(rest)} more CAs: {summed}"))
    return lines


def outcome_line(outcome: ActionOutcome) -> Text:
    """One step as apply prints it while it runs: `✓ create "LTV"`."""
    style = "green" if outcome.status == "done" else "red"
    line = Text(f"{MARK[outcome.status]} {outcome_title(outcome)}", style=style)
    if outcome.message:
        line += Text(f": {printable(outcome.message)}")
    return line


def _stopped_steps(report: ApplyReport) -> Iterator[Text]:
    """The steps of a stopped apply: the done and the failed ones counted (each was printed
    as it ended, a failed one with its message, which `Per CA` says again beside how far
    its CA got), the first `SHOWN_STEPS` not started."""
    for status in ("done", "failed"):
        count = report.count(status)
        if count:
            yield Text(f"  {MARK[status]} {count} {status} (each printed above as it ended)")
    waiting = [outcome for outcome in report.outcomes if outcome.status == "not_started"]
    for outcome in waiting[:SHOWN_STEPS]:
        yield Text(f"  {MARK['not_started']} not started: {outcome_title(outcome)}")
    if len(waiting) > SHOWN_STEPS:
        yield Text(f"  {MARK['not_started']} … and {len(waiting) - SHOWN_STEPS} more not started")


def report_text(report: ApplyReport) -> list[Text]:
    """The apply report: one line when all went well; else the failed steps, the done ones
    counted and the first not started, then how far each CA got (`--format json` has every
    step and every CA)."""
    done, failed, waiting = (report.count(s) for s in ("done", "failed", "not_started"))
    adopted = _adoptions(report)
    if report.ok:
        complete = [Text(f"Apply complete: {done} done{adopted}.", style="bold green")]
        return complete + (_per_ca(report) if report.seeded else [])
    lines = [
        Text(
            f"Apply stopped: {done} done{adopted}, {failed} failed, {waiting} not started.",
            style="bold red",
        )
    ]
    lines += _stopped_steps(report)
    lines += _per_ca(report)
    if report.seeded:
        # Re-run as said, without --seeds, it planned the activations of the CAs whose
        # seeds had not all landed, and made them: the order mParticle recommends, undone.
        again = (
            "Re-run `reconciler apply` with the same `--seeds FILE` to continue from the live "
            "state (without it, CAs whose seeds are not all sent would be activated). No CA "
            "was activated before all its seeds were confirmed."
        )
    else:
        again = "Re-run `reconciler apply` to continue from the live state."
    lines.append(Text(f"Nothing was rolled back. {again}"))
    return lines
