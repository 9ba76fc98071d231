"""Rendering plans: Terraform-like text (colour only when allowed) and Markdown PR comments."""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from rich.text import Text

from reconciler import console
from reconciler.console import Output
from reconciler.plan import markdown, render
from reconciler.plan.report import ActionOutcome, ApplyReport
from reconciler.plan.report_text import outcome_line, outcome_title, report_text
from reconciler.plan.value import Action, Change, DraftNote, Plan, summarize


def plan_of(actions: list[Action], unchanged: int = 5, unmanaged: list[str] | None = None) -> Plan:
    names = unmanaged or []
    return Plan(
        workspace_id=1234,
        summary=summarize(actions, unchanged, len(names)),
        actions=actions,
        unmanaged=names,
        live={},
    )


SAMPLE = plan_of(
    [
        Action(
            action="create",
            name="LTV",
            changes=[Change(path="definition.calculation_type", after="sum")],
        ),
        Action(action="activate", name="LTV"),
        Action(
            action="update",
            name="AOV",
            id=12,
            changes=[Change(path="description", before="a", after="b")],
        ),
        Action(action="activate", name="AOV", id=12, warnings=["recalculates"]),
        Action(action="discard_draft", name="Stray", id=4),
        Action(action="delete", name="Old", id=3, warnings=["used by 2 audiences"]),
    ],
    unmanaged=["Legacy"],
)


def rendered(plan: Plan, *, no_color: bool = True) -> str:
    buffer = io.StringIO()
    output = Output(no_color=no_color, stdout=buffer, stderr=io.StringIO())
    for line in render.text(plan):
        output.print(line)
    return buffer.getvalue()


def test_summary_line_matches_the_contract() -> None:
    assert render.summary_line(SAMPLE) == (
        "Plan: 1 to create, 1 to update, 1 drafts to discard, 2 to activate, 1 to delete. "
        "5 unchanged, 1 unmanaged."
    )
    assert (
        render.summary_line(plan_of([], unchanged=13)) == "No changes. 13 unchanged, 0 unmanaged."
    )


def test_a_plan_with_no_changes_names_the_workspace_it_compared() -> None:
    """CI plans dev, staging and prod: `No changes.` alone did not say which workspace it
    was about (a plan with changes says so in its first line, and so does Markdown). A
    plan file's environment (`show`) is escaped like any text from outside."""
    prod = plan_of([], unchanged=13).model_copy(update={"environment": "prod"})
    assert rendered(prod) == (
        "Reconciler will perform no actions in workspace 1234 (environment prod).\n"
        "\n"
        "No changes. 13 unchanged, 0 unmanaged.\n"
    )
    assert rendered(plan_of([], unchanged=13)).startswith(
        "Reconciler will perform no actions in workspace 1234.\n"
    )
    changed = SAMPLE.model_copy(update={"environment": "prod"})
    assert rendered(changed).startswith(
        "Reconciler will perform these actions in workspace 1234 (environment prod):\n"
    )
    for plan in (prod, changed):
        assert "### reconciler plan for workspace 1234 (environment prod)\n" in (
            markdown.markdown(plan)
        )
        assert (plan.document()["workspace_id"], plan.document()["environment"]) == (1234, "prod")
    tampered = prod.model_copy(update={"environment": "prod\x1b[2J\u202e"})
    assert "(environment prod\\x1b[2J\\u202e).\n" in rendered(tampered)


def test_text_uses_terraform_like_symbols_and_field_changes() -> None:
    text = rendered(SAMPLE)
    for line in (
        '  + create "LTV"',
        '      + definition.calculation_type: "sum"',
        '  ! activate "LTV"',
        '  ~ update "AOV" (id 12)',
        '      ~ description: "a" -> "b"',
        "      ⚠ recalculates",
        '  - discard draft "Stray" (id 4)',
        '  x delete "Old" (id 3)',
        "      ⚠ used by 2 audiences",
        '  ? "Legacy"',
    ):
        assert line in text.splitlines(), line
    assert "\x1b[" not in text


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _printed_on_a_terminal() -> str:
    """The sample plan as printed on a terminal (an xterm) with the environment as it is."""
    buffer = _Tty()
    output = Output(stdout=buffer, stderr=io.StringIO())
    for line in render.text(SAMPLE):
        output.print(line)
    return buffer.getvalue()


def test_colour_only_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert "\x1b[" in _printed_on_a_terminal()
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in _printed_on_a_terminal()


def test_an_empty_no_color_is_no_request_for_no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    # `NO_COLOR=` (a CI template's `NO_COLOR: ${{ inputs.no-color }}` left empty) turned
    # colour off: no-color.org, and the README's rule for every variable, say that an
    # empty value is no value.
    monkeypatch.setenv("NO_COLOR", "")
    monkeypatch.setenv("TERM", "xterm-256color")
    assert "\x1b[" in _printed_on_a_terminal()


def test_a_large_plan_reaches_the_terminal_a_chunk_of_lines_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The text plan went to rich in one print: rich holds all one call is given, and a
    # plan of 10,000 CAs took 600 MB (12 s of the 16 `show` took). Now rich is given
    # CHUNK_LINES lines at a time (without colour, none: the plain text is written as is),
    # and what reaches the terminal is the same.
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    lines = list(render.text(SAMPLE))
    whole = Tty()
    Output(stdout=whole, stderr=io.StringIO()).print(Text("\n").join(lines))
    monkeypatch.setattr(console, "CHUNK_LINES", 4)
    buffer = Tty()
    output = Output(stdout=buffer, stderr=io.StringIO())
    given: list[int] = []
    print_text = output.out.print

    def counted(text: Text) -> None:
        given.append(len(text.plain.split("\n")))
        print_text(text)

    monkeypatch.setattr(output.out, "print", counted)
    render.show(SAMPLE, output, "text")
    assert "\x1b[" in buffer.getvalue()
    assert buffer.getvalue() == whole.getvalue()
    assert given == [4] * (len(lines) // 4) + ([len(lines) % 4] if len(lines) % 4 else [])

    plain = io.StringIO()
    quiet = Output(no_color=True, stdout=plain, stderr=io.StringIO())
    monkeypatch.setattr(quiet.out, "print", counted)
    given.clear()
    render.show(SAMPLE, quiet, "text")
    assert given == []
    assert plain.getvalue() == rendered(SAMPLE)


def test_names_are_printed_as_written_not_as_markup() -> None:
    plan = plan_of([Action(action="create", name="[bold]x[/bold] <b>")])
    assert '+ create "[bold]x[/bold] <b>"' in rendered(plan)


def test_a_name_is_quoted_as_a_change_line_quotes_text() -> None:
    """The header line did not escape `"` in a name: `~ update "quote "double"" (id 58)`,
    while the change lines did (`"He said \\"hi\\""`). One formatter quotes both."""
    name = "quote \"double\" \\ and 'single'\ttab"
    plan = plan_of(
        [
            Action(
                action="update", name=name, id=58, changes=[Change(path="description", after=name)]
            )
        ],
        unmanaged=[name + " 2"],
    ).model_copy(update={"drafts": [DraftNote(name=name + " 3", id=9, kept=True)]})
    shown = '"quote \\"double\\" \\\\ and \'single\'\\ttab'
    lines = rendered(plan).splitlines()
    assert f'  ~ update {shown}" (id 58)' in lines
    assert f'      + description: {shown}"' in lines
    assert f'  ? {shown} 2"' in lines
    assert f'  = draft kept {shown} 3" (id 9)' in lines
    outcome = ActionOutcome(action=plan.actions[0], status="done")
    assert outcome_title(outcome) == f'update {shown}" (id 58)'


def test_markdown_has_a_summary_table_and_a_section_per_ca() -> None:
    text = markdown.markdown(SAMPLE)
    assert "| 1 | 1 | 1 | 2 | 1 | 5 | 1 |" in text
    assert text.count("<details>") == 5  # LTV, AOV, Stray, Old, and the unmanaged list
    assert '<summary><code>+</code> <b><code>"LTV"</code></b>: create, activate</summary>' in text
    assert '- description: "a"\n+ description: "b"' in text
    assert "⚠️ recalculates" in text


def test_markdown_escapes_names_and_code_fences() -> None:
    plan = plan_of(
        [
            Action(
                action="create",
                name="<script>&",
                changes=[Change(path="description", after="```\nbreak out")],
            )
        ]
    )
    text = markdown.markdown(plan)
    assert '<b><code>"&lt;script&gt;&amp;"</code></b>' in text
    assert "<script>" not in text


def test_markdown_is_truncated_deterministically_below_the_limit() -> None:
    many: list[Any] = []
    for n in range(3000):
        many.append(
            Action(
                action="create",
                name=f"CA {n:04d}",
                changes=[Change(path=f"definition.field{k}", after="x" * 40) for k in range(5)],
            )
        )
    plan = plan_of(many)
    first = markdown.markdown(plan)
    assert len(first) < markdown.MARKDOWN_LIMIT
    assert first == markdown.markdown(plan)
    assert 'Not shown (comment size limit): 2864 more CAs, from `"CA 0136"` on.' in first
    assert "CA 0000" in first
    assert "CA 2999" not in first


def test_a_pruned_ca_is_listed_once_as_a_delete_not_again_as_unmanaged() -> None:
    """`plan --prune` listed each delete twice: as `x delete` and under "Unmanaged"."""
    pruned = plan_of(
        [Action(action="delete", name="Old", id=3)], unmanaged=["Kept by scope", "Old"]
    )
    text = rendered(pruned)
    assert text.count('"Old"') == 1
    assert '  x delete "Old" (id 3)' in text.splitlines()
    assert '  ? "Kept by scope"' in text.splitlines()
    comment = markdown.markdown(pruned)
    assert "1 unmanaged (live, in no manifest)" in comment
    assert '- `"Kept by scope"`' in comment.splitlines()
    assert '"Old"`' not in comment
    only_deletes = plan_of([Action(action="delete", name="Old", id=3)], unmanaged=["Old"])
    assert "Unmanaged" not in rendered(only_deletes)
    assert "unmanaged (live" not in markdown.markdown(only_deletes)


def test_the_apply_report_escapes_live_names_and_messages() -> None:
    """A live CA named with escape sequences (made in the UI) that `--prune` deletes: the
    report's "Per CA" line printed its name raw, so the terminal ran the sequences."""
    from reconciler.plan.report import ActionOutcome, ApplyReport

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


def test_markdown_shows_names_and_messages_as_written() -> None:
    """Unmanaged and kept-draft names, override messages and test values sit inside Markdown
    lines: `*Legacy* [x](...)` rendered as italics and a live link, not as the CA's name."""
    from markdown_it import MarkdownIt

    from reconciler.plan.value import DraftNote, ValueDiff, Violation

    name = "*Legacy* [click](https://e.example) `x` _y_ ~~z~~ <b> a\\b"
    plan = plan_of(
        [
            Action(
                action="update",
                name="LTV",
                id=7,
                changes=[Change(path="description", after="x")],
                values=[ValueDiff(user=name, file="t.test.yaml", before="*1*", after="`2`|3")],
            )
        ],
        unmanaged=[name],
    ).model_copy(
        update={
            "drafts": [DraftNote(name=name, id=9, kept=True)],
            "overridden": [Violation(rule="drafts", message=f'"{name}" has a draft')],
        }
    )
    page = MarkdownIt("commonmark").enable("table").render(markdown.markdown(plan))
    shown = name.replace("<", "&lt;").replace(">", "&gt;")
    listed = shown.replace("\\", "\\\\")  # in quotes as the text plan shows it: `\\` escaped
    assert f"<li><code>&quot;{listed}&quot;</code></li>" in page  # unmanaged
    assert f"<li><code>&quot;{listed}&quot;</code> (id 9)</li>" in page  # draft kept
    link = "[click](https://e.example)"  # a word GitHub would link: in code, as written
    message = shown.replace(link, f"<code>{link}</code>")
    assert f"<strong>drafts</strong>: &quot;{message}&quot; has a draft</li>" in page
    assert f"<td><code>{shown}</code></td>" in page
    assert "<td><code>*1*</code></td> <td><code>`2`|3</code></td>" in page.replace("\n", " ")
    for markup in ("<em>", "<a href", "<s>", "<del>"):
        assert markup not in page


class _Outside(HTMLParser):
    """The text of a page outside code: where GitHub finds mentions and references."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.depth += tag in ("code", "pre")

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag in ("code", "pre")

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.text.append(data)


def test_markdown_mentions_and_issue_references_notify_and_link_nobody() -> None:
    """A CA named `Promo @marketing-team #12` notified that team and cross-linked issue 12
    on every update of the PR comment: GitHub reads both in the comment's text, though
    not in code. Names are in code now, and so are such words in messages; the page still
    shows each name as written."""
    from markdown_it import MarkdownIt

    from reconciler.plan.value import Violation

    name = "Promo @marketing-team #12 org/repo#3 gh-7 a@b"
    plan = plan_of(
        [
            Action(
                action="update",
                name=name,
                id=7,
                changes=[Change(path="description", after="cc @octocat, fixes #4")],
                warnings=[f'differs from the live "{name}" only in case'],
            )
        ],
        unmanaged=[name + " 2"],
    ).model_copy(
        update={
            "drafts": [DraftNote(name=name + " 3", id=9, kept=True)],
            "overridden": [Violation(rule="drafts", message=f'"{name}" has a draft, @team')],
        }
    )
    page = MarkdownIt("commonmark").enable("table").render(markdown.markdown(plan))
    outside = _Outside()
    outside.feed(page)
    text = "".join(outside.text)
    assert "Promo" in text  # the messages' other words stay outside code
    assert not re.search(r"@\w|#\d|gh-\d", text, re.IGNORECASE), text
    shown = '"Promo @marketing-team #12 org/repo#3 gh-7 a@b'
    assert f'<b><code>{shown}"</code></b>' in page  # the section (an HTML block)
    assert f"<li><code>{html.escape(shown)} 2&quot;</code></li>" in page  # unmanaged
    assert f"<li><code>{html.escape(shown)} 3&quot;</code> (id 9)</li>" in page  # draft kept


def test_a_stopped_apply_report_counts_the_done_steps_and_names_the_first_not_started() -> None:
    """A stop after 431 of 2,050 steps printed every step again (1,611 of them "not started")
    and a line per CA: 4,000 lines after the steps already printed as they ended. The text
    report keeps how many failed and why, how far each failed CA got and how many of the
    rest; the JSON report keeps every step and every CA."""
    from reconciler.plan.report import ActionOutcome, ApplyReport

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
