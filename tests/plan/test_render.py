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
from reconciler.plan.report import ActionOutcome
from reconciler.plan.report_text import outcome_title
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
