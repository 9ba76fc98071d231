"""The apply report's text (`plan.report_text`): its first line's counts, a stopped
apply's steps and CAs, and live names shown safely."""

from __future__ import annotations

import io

from reconciler.console import Output
from reconciler.plan.report import ActionOutcome, ApplyReport
from reconciler.plan.report_text import outcome_line, report_text
from reconciler.plan.value import Action


def test_the_apply_report_escapes_live_names_and_messages() -> None:
    """A live CA named with escape sequences (made in the UI) that `--prune` deletes: the
    report's "Per CA" line printed its name raw, so the terminal ran the sequences."""

    evil = "Evil \x1b]0;pwned\x07\x1b[2K\u202eCA"
    delete = Action(action="delete", name=evil, id=4)
    seed = Action(action="seed", name=evil, id=4, users=3)
    report = ApplyReport(
        outcomes=[
            ActionOutcome(action=seed, status="done", users=3),
            ActionOutcome(action=delete, status="failed", message="refused: \x1b[31mno"),
        ],
        interrupted=True,
    )
    buffer = io.StringIO()
    output = Output(no_color=True, stdout=buffer, stderr=io.StringIO())
    for outcome in report.outcomes:  # as apply prints each step when it ends
        output.print(outcome_line(outcome))
    for line in report_text(report):
        output.print(line)
    text = buffer.getvalue()
    shown = '"Evil \\u001b]0;pwned\\u0007\\u001b[2K\\u202eCA"'  # as a change line shows it
    assert f"{shown} (id 4): seeded (3 users); " in text
    assert f"seed {shown} (id 4): 3 users seeded" in text
    assert "refused: \\x1b[31mno" in text
    for raw in ("\x1b", "\u202e", "\x07"):
        assert raw not in text
    # The JSON report is data: exact.
    assert report.to_json()["cas"][0]["name"] == evil


def test_a_stopped_apply_report_counts_the_done_steps_and_names_the_first_not_started() -> None:
    """A stop after 431 of 2,050 steps printed every step again (1,611 of them "not started")
    and a line per CA: 4,000 lines after the steps already printed as they ended. The text
    report keeps how many failed and why, how far each failed CA got and how many of the
    rest; the JSON report keeps every step and every CA."""

    def steps(n: int) -> tuple[Action, Action]:
        name = f"CA {n:02d}"
        return Action(action="create", name=name), Action(action="activate", name=name)

    outcomes: list[ActionOutcome] = []
    for n in range(60):
        create, activate = steps(n)
        if n < 25:  # done, both steps
            outcomes += [
                ActionOutcome(create, status="done", id=n),
                ActionOutcome(activate, status="done", id=n),
            ]
        elif n == 25:
            outcomes += [
                ActionOutcome(create, status="failed", message="name too long."),
                ActionOutcome(activate),
            ]
        elif n == 26:
            cut = "interrupted on its way: it may or may not have been carried out"
            outcomes += [
                ActionOutcome(create, status="done", id=n),
                ActionOutcome(activate, status="failed", message=cut, id=n),
            ]
        elif n == 27:  # stopped part-way
            outcomes += [ActionOutcome(create, status="done", id=n), ActionOutcome(activate)]
        else:
            outcomes += [ActionOutcome(create), ActionOutcome(activate)]
    report = ApplyReport(outcomes=outcomes, interrupted=True)
    lines = [str(line) for line in report_text(report)]
    assert lines[0] == "Apply stopped: 52 done, 2 failed, 66 not started."
    assert "  ✓ 52 done (each printed above as it ended)" in lines
    assert not [line for line in lines if line.startswith("  ✓ done:")]
    # Each failed step was printed as it ended, with why: counted here, its why said once
    # more beside how far its CA got (a refused connection was said four times in all).
    assert "  ✗ 2 failed (each printed above as it ended)" in lines
    assert not [line for line in lines if line.startswith("  ✗ failed:")]
    assert sum("name too long." in line for line in lines) == 1
    waiting = [line for line in lines if line.startswith("  · not started:")]
    assert waiting[0] == '  · not started: activate "CA 25"'
    assert len(waiting) == 20
    assert "  · … and 46 more not started" in lines
    per_ca = lines[lines.index("Per CA:") + 1 :]
    # Every CA that failed or stopped part-way, in full.
    assert '  "CA 25": create failed: name too long.; activate not started' in per_ca
    assert f'  "CA 26" (id 26): drafted; activate failed: {cut}' in per_ca
    assert '  "CA 27" (id 27): drafted; activate not started' in per_ca
    # The first 20 others, then a count of the rest: 5 done (CA 20-24), 32 not started.
    assert '  "CA 19" (id 19): drafted, activated' in per_ca
    assert '  "CA 20" (id 20): drafted, activated' not in per_ca
    assert '  "CA 28": not started' not in per_ca
    assert "  … and 37 more CAs: 5 done, 32 not started" in per_ca
    assert len(per_ca) == 20 + 3 + 1 + 1  # the last: nothing was rolled back
    assert per_ca[-1].startswith("Nothing was rolled back. Re-run `reconciler apply`")
    # The JSON report has them all.
    document = report.to_json()
    assert len(document["actions"]) == 120
    assert len(document["cas"]) == 60


def test_the_report_s_first_line_counts_the_creates_that_adopted_their_ca() -> None:
    """`Apply complete: 600 done.` said nothing of the creates that adopted the CA of their
    name, though each step said so on its own line: the count, by why, in their words."""
    outcomes: list[ActionOutcome] = []
    for n in range(6):
        create = Action(action="create", name=f"CA {n}")
        outcome = ActionOutcome(create, status="done", id=n, adopted=n < 3, taken=n == 2)
        outcomes.append(outcome)
    report = ApplyReport(outcomes=outcomes)
    assert str(report_text(report)[0]) == (
        "Apply complete: 6 done (adopted: 2 after a lost answer, 1 whose name was taken since "
        "the plan)."
    )
    assert report.to_json()["adopted"] == {"lost_answer": 2, "name_taken": 1}
    outcomes[5].status = "failed"  # stopped: counted among the done steps
    outcomes[4].status = "not_started"
    assert str(report_text(report)[0]) == (
        "Apply stopped: 4 done (adopted: 2 after a lost answer, 1 whose name was taken since "
        "the plan), 1 failed, 1 not started."
    )
    for outcome in outcomes:
        outcome.adopted = False
    assert str(report_text(report)[0]) == "Apply stopped: 4 done, 1 failed, 1 not started."
    assert report.to_json()["adopted"] == {"lost_answer": 0, "name_taken": 0}
