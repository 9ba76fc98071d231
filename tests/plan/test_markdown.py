"""The Markdown plan as GitHub renders it (tests/support/gfm.py: GitHub's own parser): CA
names, descriptions, condition values and test values holding Markdown, HTML, mentions,
links and invisible characters show as written, link and notify nobody, and leave every
table, code span and collapsible section whole."""

from __future__ import annotations

import pytest

from reconciler.errors import printable, quoted
from reconciler.plan import markdown
from reconciler.plan.value import (
    Action,
    Change,
    DraftNote,
    FailedTest,
    FixedTest,
    GateCheck,
    Plan,
    Promotion,
    SeedSource,
    ValueDiff,
    Violation,
    summarize,
)
from tests.support.gfm import Page, html

#: Text a CA's name, description or value may hold (live CAs are named in the UI).
HOSTILE = [
    "a|b",
    "a\\|b",
    "`x`",
    "``x`` ```y",
    "a `",
    "<b>x</b> a > b & c < d &amp; &#124;",
    "<details><summary>x</summary>",
    "</summary></details>",
    "<!-- x --> <script>alert(1)</script>",
    "*x* _y_ ~~z~~ ~w~ **v**",
    "[x](https://e.example) ![i](https://e.example/i.png)",
    "@octocat @org/team",
    "#123 org/repo#4 GH-5",
    "# heading",
    "🎉 party 👨‍👩‍👧 日本",
    "zero\u200bwidth \u202eright-to-left\u202c \u2066x",
    "w" * 300,
    "line\nbreak",
    "crlf\r\nbreak",
    "tab\there",
    "https://phish.example/login",
    "www.phish.example",
    "alice@example.com",
    "thumbs :+1: :shipit:",
    "- [ ] task",
    "\\",
    " padded ",
    "deadbeef1 a418961 ABCDEF0",
    "(cafe1234), x-0123456789abcdef0123456789abcdef01234567 1234567",
]


def hostile_plan(text: str) -> tuple[Plan, list[Violation]]:
    """A plan in which `text` is every CA's name, description, condition value and test
    value, with every action kind, warnings, a gate, value diffs and seeds."""
    actions = [
        Action(
            action="create",
            name=text,
            changes=[
                Change(path="description", after=text),
                Change(path="definition.conditions[0].value", after=text),
            ],
            values=[ValueDiff(user=text, file="t.test.yaml", before="-", after=text)],
        ),
        Action(action="seed", name=text, users=3),
        Action(action="activate", name=text, warnings=["recalculates"]),
        Action(
            action="update",
            name=f"{text} 2",
            id=5,
            changes=[Change(path="description", before=text, after=f"{text}!")],
            warnings=[f"differs from the live {quoted(text)} only in case"],
            values=[ValueDiff(user="alice", file="t.test.yaml", before=text, after=text)],
        ),
        Action(action="discard_draft", name=f"{text} 3", id=6),
        Action(action="delete", name=f"{text} 4", id=7, warnings=["used by 2 audiences"]),
    ]
    plan = Plan(
        environment="prod",
        workspace_id=1,
        summary=summarize(actions, 1, 2),
        actions=actions,
        unmanaged=[f"{text} 4", f"{text} 5"],
        drafts=[DraftNote(name=f"{text} 6", id=9, kept=True)],
        overridden=[Violation(rule="drafts", message=f"{quoted(text)} (id 9) holds a draft")],
        promotion=Promotion(
            source="staging",
            checks=[GateCheck(name=text, promoted=False, reason="not yet active in staging")],
        ),
        seeds=SeedSource(path=f"seeds/{text}.csv", sha256="0" * 64, format="csv", users=3),
    )
    refused = [Violation(rule="delete", message=f"deleting {quoted(text + ' 4')} (id 7)")]
    return plan, refused


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_written_and_inert(text: str) -> None:
    plan, refused = hostile_plan(text)
    comment = markdown.markdown(plan, refused=refused)
    page = Page.of(comment)
    assert page.problems == []  # no link, image or HTML of the text's own; nothing left open
    assert page.live() == []  # no mention, reference, link or emoji outside code
    assert page.rows == [8, 8, 3, 3]  # the summary table; the test values that change
    rendered = html(comment)
    assert rendered.count("<details>") == rendered.count("</details>") == 6
    shown = quoted(text)
    for name in (shown, quoted(f"{text} 5"), quoted(f"{text} 6")):
        assert name in page.codes  # the CA section, the unmanaged list and the kept draft
    assert printable(text) in page.codes  # in the tables of test values


def test_a_name_or_value_that_is_an_address_or_url_links_nothing() -> None:
    """A CA's value `alice@example.com` in the table of test values, and a live CA named
    `https://phish.example/login` in the unmanaged list, rendered as a mail link and a
    link: GitHub's parser links a bare address or URL even inside a `<code>` tag (never in
    a code span)."""
    plan, _ = hostile_plan("alice@example.com https://phish.example/login www.e.example")
    page = Page.of(markdown.markdown(plan))
    assert [p for p in page.problems if p.startswith("<a ")] == []
    assert '"alice@example.com https://phish.example/login www.e.example 5"' in page.codes
    assert "alice@example.com https://phish.example/login www.e.example" in page.codes


def test_an_environment_name_links_and_notifies_nobody() -> None:
    """An environment named `GH-12` (a valid name) linked issue 12 from the heading and the
    table of `--env all`; a plan file's own `environment` (`show PLANFILE`) may hold a
    mention or Markdown."""
    plan, _ = hostile_plan("LTV")
    page = Page.of(
        markdown.markdown_all({"GH-12": plan.model_copy(update={"environment": "GH-12"})})
    )
    assert page.live() == []
    assert "GH-12" in page.codes
    comment = markdown.markdown(plan.model_copy(update={"environment": "@ops *x* |"}))
    assert Page.of(comment).live() == []
    assert "<h3>reconciler plan for workspace 1 (environment <code>@ops</code> *x* |)</h3>" in (
        html(comment)
    )


def test_a_word_github_would_link_to_a_commit_is_in_code() -> None:
    """GitHub links a run of 7 to 40 hex digits in a comment's text to the commit it starts
    when the repository has one: a CA named `a418961` (this repository's own commit) linked
    from a message, and so could the seeds line's `sha256 000000000000…`, an environment
    named `deadbeef1`, a workspace or CA id of 7 digits, or a rule name in a plan file
    (`show`). Each is shown in code instead."""
    plan, refused = hostile_plan("a418961")
    plan = plan.model_copy(
        update={
            "environment": "deadbeef1",
            "workspace_id": 1234567,
            "drafts": [DraftNote(name="Kept", id=7654321, kept=True)],
            "overridden": [Violation(rule="cafe1234", message="c0ffee00 held")],
        }
    )
    comment = markdown.markdown(plan, refused=refused)
    page = Page.of(comment)
    assert page.live() == []
    # The whole word, as `@team` is: `"a418961` of a message naming `"a418961 4"`.
    words = ('"a418961', "000000000000…):", "1234567", "deadbeef1)", "7654321)", "c0ffee00")
    for word in (*words, "--allow cafe1234", "cafe1234"):
        assert word in page.codes, word
    allowed = plan.model_copy(update={"overridden": [], "allowed": ["c0ffee00"]})
    assert Page.of(markdown.markdown(allowed)).live() == []
    both = markdown.markdown_all({"deadbeef1": plan, "prod": allowed}, refused={"prod": refused})
    page = Page.of(both)
    assert page.live() == []
    assert page.problems == []
    assert "1234567" in page.codes


def deletes(count: int, name: str = "Legacy CA {:05d}") -> tuple[Plan, list[Violation]]:
    actions = [Action(action="delete", name=name.format(n), id=n + 1) for n in range(count)]
    reasons = [
        Violation(
            rule="delete",
            message=f"deleting {quoted(a.name)} (id {a.id}): this environment does not allow "
            "deletes (safety.allow_delete: false)",
        )
        for a in actions
    ]
    return Plan(workspace_id=1, summary=summarize(actions, 0, 0), actions=actions), reasons


def test_a_thousand_refusals_or_overrides_stay_below_the_limit() -> None:
    """`plan --prune` of 1,000 unmanaged CAs where deletes are not allowed: the refusal
    alert listed every one, a 149,430-character comment GitHub would not post."""
    plan, reasons = deletes(1000)
    for comment in (
        markdown.markdown(plan, refused=reasons),
        markdown.markdown(plan.model_copy(update={"overridden": reasons})),
    ):
        assert len(comment) < markdown.MARKDOWN_LIMIT
        assert Page.of(comment).problems == []
        alert = comment.split("\n\n|")[0]  # up to the summary table
        assert '> - **delete**: deleting "Legacy CA 00019" (id 20): this' in alert
        assert '"Legacy CA 00020" (id 21)' not in alert
        assert "> - … and 980 more: the JSON plan (`--format json`) lists every one" in comment


def sections_plan(count: int) -> Plan:
    """`count` CAs to create named in emoji and CJK (four and three bytes a character in
    UTF-8), a kept draft and five unmanaged CAs."""
    actions = [
        Action(
            action="create", name=f"CA 🎉 日本 {n:03d}", changes=[Change(path="x", after="🎉" * 40)]
        )
        for n in range(count)
    ]
    return Plan(
        workspace_id=1,
        summary=summarize(actions, 0, 5),
        actions=actions,
        unmanaged=[f"Legacy 🎉 {n}" for n in range(5)],
        drafts=[DraftNote(name="Kept", id=9, kept=True)],
    )


def test_a_comment_is_cut_only_when_it_would_reach_the_limit_and_says_what_is_cut() -> None:
    """Cut at whole sections, below the limit in characters (GitHub counts characters, not
    bytes); one that fits is not cut (a reserve for the note cut the last CA of a comment
    that fitted); one that does not says which CAs and lists are not shown, in Markdown."""
    plan = sections_plan(300)
    whole = markdown.markdown(plan, limit=10**9)
    size = len(whole)
    assert size < markdown.MARKDOWN_LIMIT < len(whole.encode())
    assert markdown.markdown(plan, limit=size + 1) == whole  # just under the limit
    for limit in (size, size - 1, size // 2, 5_000):  # at and over it
        cut = markdown.markdown(plan, limit=limit)
        assert len(cut) < limit
        assert cut == markdown.markdown(plan, limit=limit)
        page = Page.of(cut)
        assert page.problems == []
        assert html(cut).rsplit("</details>", 1)[1].startswith("\n<p><em>… Not shown")
    cut = markdown.markdown(plan, limit=size // 2)
    shown = sum(f'<b><code>"CA 🎉 日本 {n:03d}"</code></b>' in cut for n in range(300))
    assert 0 < shown < 300
    assert html(cut).rsplit("</details>", 1)[1] == (
        f"\n<p><em>… Not shown (comment size limit): {300 - shown} more CAs, from "
        f"<code>&quot;CA 🎉 日本 {shown:03d}&quot;</code> on, the kept drafts and the unmanaged "
        "CAs. The JSON plan (<code>--format json</code>) has every one.</em></p>\n"
    )
    note = (
        "\n_… Not shown (comment size limit): the unmanaged CAs. The JSON plan "
        "(`--format json`) has every one._\n"
    )
    unmanaged = len("<details>" + whole.split("<details>")[-1])  # the last section
    assert markdown.markdown(plan, limit=size - unmanaged + len(note) + 1).endswith(
        "</details>\n" + note
    )


def test_a_long_list_of_unmanaged_cas_is_listed_in_part() -> None:
    """5,000 unmanaged CAs made one section too long for the comment: a plan with no change
    showed none of them, and said an action was not shown."""
    names = [f"Unmanaged {n:04d}" for n in range(5000)]
    plan = Plan(workspace_id=1, summary=summarize([], 0, 5000), actions=[], unmanaged=names)
    comment = markdown.markdown(plan)
    assert '- `"Unmanaged 0099"`\n- … and 4900 more: the JSON plan (`--format json`)' in (comment)
    assert "Not shown" not in comment
    assert Page.of(comment).problems == []


def huge_plan(changes: int = 3000) -> Plan:
    """Two CAs, then one whose update rewrites `changes` values of its conditions (with 30
    test users' values changed, and an activation that recalculates), then three more CAs,
    a kept draft and an unmanaged CA."""
    huge = [
        Action(
            action="update",
            name="Huge",
            id=1,
            changes=[
                Change(path=f"definition.conditions[{n}].value", before=f"v{n}", after=f"w{n}")
                for n in range(changes)
            ],
            values=[
                ValueDiff(user=f"user {n}", file="t.test.yaml", before="1", after="2")
                for n in range(30)
            ],
        ),
        Action(action="activate", name="Huge", id=1, warnings=["recalculates"]),
    ]
    small = [
        Action(action="create", name=f"CA {n}", changes=[Change(path="x", after="y")])
        for n in range(5)
    ]
    actions = [*small[:2], *huge, *small[2:]]
    return Plan(
        workspace_id=1,
        summary=summarize(actions, 0, 1),
        actions=actions,
        unmanaged=["Legacy"],
        drafts=[DraftNote(name="Kept", id=9, kept=True)],
    )


def well_formed(comment: str, limit: int, sections: int) -> None:
    """Below `limit`, nothing left open or stray, every fence closed (an open one would hold
    the `</details>` after it as code) and `sections` collapsible sections, each closed."""
    assert len(comment) < limit
    assert Page.of(comment).problems == []
    rendered = html(comment)
    assert rendered.count("<details>") == rendered.count("</details>") == sections
    assert comment.count("```diff\n") == comment.count("\n```\n")


def test_a_ca_too_large_for_the_comment_is_cut_and_those_after_it_are_kept() -> None:
    """A CA whose update rewrites 3,000 values of its conditions made a section larger than
    the comment: it was left out with every section after it (the CAs, the kept drafts and
    the unmanaged CAs). Now its diff is cut to the room the others leave, its actions and
    warnings kept, and it says how many changes it does not show."""
    plan = huge_plan()
    comment = markdown.markdown(plan)
    assert comment == markdown.markdown(plan)
    well_formed(comment, markdown.MARKDOWN_LIMIT, 8)
    assert "Not shown" not in comment
    for name in ("CA 0", "CA 1", "Huge", "CA 2", "CA 3", "CA 4"):
        assert f'<b><code>"{name}"</code></b>' in comment
    assert "1 draft kept" in comment
    assert '- `"Legacy"`' in comment
    section = comment.split('<b><code>"Huge"</code></b>')[1].split("</details>")[0]
    assert section.startswith(
        ": update, activate ⚠️ recalculates · test values: 30 of 30 change · cut (comment size "
        'limit)</summary>\n\n```diff\n~ update (id 1)\n- definition.conditions[0].value: "v0"\n'
        '+ definition.conditions[0].value: "w0"\n'
    )
    shown = section.count("\n- definition.conditions[")
    assert 300 < shown < 3000
    assert len(comment) > markdown.MARKDOWN_LIMIT - 200  # the room the others leave, used
    assert (
        f"\n… {3000 - shown} more changes not shown (comment size limit): the JSON plan "
        "(--format json) has every one\n! activate (id 1)\n! warning: recalculates\n```\n"
    ) in section
    assert "**Values of the test users** (30 test users)" in section
    # A comment that fits is not cut.
    assert markdown.markdown(huge_plan(100)) == markdown.markdown(huge_plan(100), limit=10**9)


def test_a_cut_ca_keeps_the_form_of_its_section_at_every_size() -> None:
    """Down to a comment of 2,000 characters the large CA is cut, not dropped, and the CAs
    after it stay; where even its actions do not fit, the note names what is left out."""
    plan = huge_plan()
    for limit in (30_000, 5_000, 2_000):
        comment = markdown.markdown(plan, limit=limit)
        well_formed(comment, limit, 8)
        assert "Not shown" not in comment
        assert comment.count(" more changes not shown (comment size limit)") == 1
    small = markdown.markdown(plan, limit=2_000)
    assert "**Values of the test users**" not in small
    assert (
        "_The test users' values are not shown (comment size limit): the JSON plan "
        "(`--format json`) has them._\n\n</details>"
    ) in small
    tiny = markdown.markdown(plan, limit=1_000)
    well_formed(tiny, 1_000, 2)
    assert tiny.endswith(
        '_… Not shown (comment size limit): 4 more CAs, from `"Huge"` on, the kept drafts and '
        "the unmanaged CAs. The JSON plan (`--format json`) has every one._\n"
    )
    every = markdown.markdown_all({"staging": plan, "prod": plan})
    well_formed(every, markdown.MARKDOWN_LIMIT, 16)
    assert "Not shown" not in every


def test_a_ca_whose_tables_are_cut_still_counts_the_tests_it_fails_and_fixes() -> None:
    """The `test` column went with the tables of a cut section: the note in their place
    counts the test users whose test the change fails or fixes."""
    plan = huge_plan()
    (update, *_) = [a for a in plan.actions if a.name == "Huge"]
    assert update.values is not None
    marked = [
        update.values[0].model_copy(update={"fails_test": FailedTest(expected="1", line=3)}),
        update.values[1].model_copy(update={"fails_test": FailedTest(expected="1", line=4)}),
        update.values[2].model_copy(update={"fixes_test": FixedTest(expected="2", line=5)}),
        *update.values[3:],
    ]
    actions = [a.model_copy(update={"values": marked}) if a is update else a for a in plan.actions]
    small = markdown.markdown(plan.model_copy(update={"actions": actions}), limit=2_000)
    well_formed(small, 2_000, 8)
    assert "**Values of the test users**" not in small
    assert (
        "_The test users' values are not shown (❌ 2 fail their tests, ✓ 1 fixes its test) "
        "(comment size limit): the JSON plan (`--format json`) has them._\n\n</details>"
    ) in small
