"""Value diffs as the plans show them: a line under the action in text, a table per CA in
Markdown, `actions[].values` in JSON (and no `values` key where none were computed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from reconciler.console import Output
from reconciler.plan import markdown, render
from reconciler.plan.value import (
    Action,
    Change,
    FailedTest,
    FixedTest,
    Plan,
    ValueDiff,
    summarize,
)
from tests.support import gfm


def diff(user: str, before: str, after: str, file: str = "ltv.test.yaml") -> ValueDiff:
    return ValueDiff(user=user, file=file, before=before, after=after)


def plan_with(found: list[ValueDiff]) -> Plan:
    actions = [
        Action(
            action="update",
            name="LTV",
            id=7,
            changes=[Change(path="definition.calculation_type", before="max", after="sum")],
            values=found,
        ),
        Action(action="activate", name="LTV", id=7, warnings=["recalculates"]),
        Action(action="update", name="AOV", id=8, changes=[Change(path="description", after="x")]),
    ]
    return Plan(workspace_id=1234, summary=summarize(actions, 3, 0), actions=actions)


def text_of(plan: Plan) -> list[str]:
    buffer = io.StringIO()
    output = Output(no_color=True, stdout=buffer, stderr=io.StringIO())
    render.show(plan, output, "text")
    return buffer.getvalue().splitlines()


MIXED = [diff("alice", "120", "130"), diff("bob", "-", "4"), diff("carol", "5", "5")]


def test_text_names_each_changed_user_under_the_action_that_changes_the_definition() -> None:
    lines = text_of(plan_with(MIXED))
    at = lines.index('  ~ update "LTV" (id 7)')
    assert lines[at + 1 : at + 4] == [
        '      ~ definition.calculation_type: "max" -> "sum"',
        "      values (tests): alice 120 -> 130, bob - -> 4; 1 unchanged",
        '  ! activate "LTV" (id 7)',
    ]
    assert sum("values (tests)" in line for line in lines) == 1  # AOV has none


def test_text_says_when_no_test_users_value_changes() -> None:
    lines = text_of(plan_with([diff("alice", "130", "130"), diff("bob", "-", "-")]))
    assert (
        "      values (tests): no test user's value changes (2 test users): the tests may not "
        "cover this change"
    ) in lines


def test_text_names_a_few_users_and_counts_the_rest() -> None:
    many = [diff(f"u{n:02d}", str(n), str(n + 1)) for n in range(11)]
    (line,) = [line for line in text_of(plan_with(many)) if "values (tests)" in line]
    assert line.endswith("u07 7 -> 8, and 3 more")
    assert "u08" not in line


def test_text_tells_users_of_the_same_name_apart_by_file() -> None:
    both = [diff("alice", "1", "2", "a.test.yaml"), diff("alice", "1", "3", "b.test.yaml")]
    (line,) = [line for line in text_of(plan_with(both)) if "values (tests)" in line]
    assert line.endswith("alice (a.test.yaml) 1 -> 2, alice (b.test.yaml) 1 -> 3")


def test_values_are_escaped_and_cut_in_text() -> None:
    long = ",".join(f'"item {n}"' for n in range(30))
    found = [diff("alice", "\x1b[31mred", long)]
    (line,) = [line for line in text_of(plan_with(found)) if "values (tests)" in line]
    assert "\x1b" not in line
    assert "\\x1b[31mred -> " in line
    assert line.endswith("…")
    assert len(line.split(" -> ")[1]) == 40


def test_markdown_shows_a_table_per_ca_and_counts_in_the_title() -> None:
    text = markdown.markdown(plan_with(MIXED))
    title = "update, activate ⚠️ recalculates · test values: 2 of 3 change"
    assert f'<b><code>"LTV"</code></b>: {title}' in text
    assert (
        "**Values of the test users** (3 test users):\n\n"
        "| test user | before | after |\n"
        "|---|---|---|\n"
        "| `alice` | `120` | `130` |\n"
        "| `bob` | `-` | `4` |\n\n"
        "_1 unchanged._"
    ) in text
    aov = text[text.index('<b><code>"AOV"</code></b>') :]
    assert "test values" not in aov
    assert "Values of the test users" not in aov


def test_markdown_says_when_no_test_users_value_changes() -> None:
    text = markdown.markdown(plan_with([diff("alice", "130", "130")]))
    assert "· test values: none change</summary>" in text
    assert (
        "_No test user's value changes (1 test user): the tests may not cover this change._" in text
    )


def test_markdown_escapes_values_and_keeps_tables_whole() -> None:
    found = [diff("a|b", "<b>x</b>", "1|2"), *(diff(f"u{n}", "0", "1") for n in range(25))]
    text = markdown.markdown(plan_with(found))
    assert "| `a\\|b` | `<b>x</b>` | `1\\|2` |" in text  # code spans: read as written
    page = gfm.html(text)
    assert "<td><code>a|b</code></td>\n<td><code>&lt;b&gt;x&lt;/b&gt;</code></td>" in page
    assert "<b>x</b>" not in page
    assert "_6 more changed (the JSON plan has every user)._" in text


def test_json_has_values_only_where_they_were_computed(tmp_path: Path) -> None:
    plan = plan_with(MIXED)
    document = json.loads(plan.to_json())
    assert document["actions"][0]["values"] == [
        {"user": "alice", "file": "ltv.test.yaml", "before": "120", "after": "130"},
        {"user": "bob", "file": "ltv.test.yaml", "before": "-", "after": "4"},
        {"user": "carol", "file": "ltv.test.yaml", "before": "5", "after": "5"},
    ]
    assert ["values" in action for action in document["actions"]] == [True, False, False]
    path = tmp_path / "plan.json"
    plan.save(path)
    assert Plan.load(path) == plan


def test_a_plan_without_values_reads_as_before(tmp_path: Path) -> None:
    plan = plan_with(MIXED)
    bare = plan.model_copy(
        update={"actions": [a.model_copy(update={"values": None}) for a in plan.actions]}
    )
    assert b'"values"' not in bare.to_json()
    buffer = io.StringIO()
    render.show_all({"dev": bare, "prod": plan}, Output(stdout=buffer), "json")
    environments = json.loads(buffer.getvalue())["environments"]
    assert "values" not in environments["dev"]["actions"][0]
    assert len(environments["prod"]["actions"][0]["values"]) == 3


def failing(user: str, before: str, after: str, expected: str, line: int = 4) -> ValueDiff:
    """A value diff whose "after" fails the test file's expectation `expected` at `line`."""
    return diff(user, before, after).model_copy(
        update={"fails_test": FailedTest(expected=expected, line=line)}
    )


#: alice's change breaks her test; bob's does not change and his test still fails (it
#: failed before); carol's change passes hers.
BROKEN = [
    failing("alice", "120", "130", "120", line=6),
    failing("bob", "5", "5", "6", line=7),
    diff("carol", "-", "4"),
]


def test_text_marks_the_users_whose_after_value_fails_their_test() -> None:
    lines = text_of(plan_with(BROKEN))
    at = lines.index('  ~ update "LTV" (id 7)')
    assert lines[at + 2 : at + 5] == [
        "      values (tests): alice 120 -> 130, carol - -> 4; 1 unchanged",
        "      ✗ tests fail: alice: expected 120, got 130 (ltv.test.yaml:6); bob: expected 6, "
        "got 5 (ltv.test.yaml:7)",
        '  ! activate "LTV" (id 7)',
    ]
    assert lines[-2:] == [
        '✗ After this plan, 2 test users\' values fail their tests (of "LTV"): `reconciler '
        "test` fails.",
        "Plan: 0 to create, 2 to update, 0 drafts to discard, 1 to activate, 0 to delete. 3 "
        "unchanged, 0 unmanaged.",
    ]
    passing = text_of(plan_with(MIXED))
    assert [line for line in passing if "✗" in line or "fail" in line] == []


def test_markdown_marks_failing_users_first_with_what_was_expected() -> None:
    text = markdown.markdown(plan_with(BROKEN))
    title = "test values: 2 of 3 change · ❌ 2 fail their tests</summary>"
    assert f'<b><code>"LTV"</code></b>: update, activate ⚠️ recalculates · {title}' in text
    assert (
        "| test user | before | after | test |\n"
        "|---|---|---|---|\n"
        "| `alice` | `120` | `130` | ❌ expected `120` (`ltv.test.yaml:6`) |\n"
        "| `bob` | `5` | `5` | ❌ expected `6` (`ltv.test.yaml:7`) |\n"
        "| `carol` | `-` | `4` | ✓ |"
    ) in text
    assert text.split("\n\n")[1] == (
        "> [!WARNING]\n"
        '> **After this plan, 2 test users\' values fail their tests** (of `"LTV"`): '
        "`reconciler test` fails. Each CA's table says what was expected."
    )
    page = gfm.Page.of(text)
    assert page.problems == []
    assert page.rows[-4:] == [4, 4, 4, 4]
    assert "> [!WARNING]" not in markdown.markdown(plan_with(MIXED))


def test_markdown_lists_a_failing_user_even_when_no_value_changes() -> None:
    text = markdown.markdown(plan_with([failing("bob", "5", "5", "6"), diff("dan", "1", "1")]))
    assert "· test values: none change · ❌ 1 fails its test</summary>" in text
    assert "_No test user's value changes (2 test users)" in text
    assert (
        "| `bob` | `5` | `5` | ❌ expected `6` (`ltv.test.yaml:4`) |\n\n_1 unchanged and passing._"
        in (text)
    )
    assert "1 test user's value fails its test** (of" in text


def test_markdown_marks_hostile_expectations_inertly() -> None:
    """An expected value and a test file's name are the test file's: as written, in code."""
    hostile = diff("@octocat", "-", "x|y", file="#12 @org/team.test.yaml").model_copy(
        update={"fails_test": FailedTest(expected="<b>@team</b> | #3", line=2)}
    )
    page = gfm.Page.of(markdown.markdown(plan_with([hostile])))
    assert page.problems == []
    assert page.live() == []
    assert "<b>@team</b> | #3" in page.codes
    assert "#12 @org/team.test.yaml:2" in page.codes


def test_json_has_fails_test_only_where_a_test_fails(tmp_path: Path) -> None:
    plan = plan_with(BROKEN)
    document = json.loads(plan.to_json())
    assert document["format_version"] == 2
    assert [v.get("fails_test") for v in document["actions"][0]["values"]] == [
        {"expected": "120", "line": 6},
        {"expected": "6", "line": 7},
        None,
    ]
    assert "fails_test" not in document["actions"][0]["values"][2]
    path = tmp_path / "plan.json"
    plan.save(path)
    assert Plan.load(path) == plan
    assert b"fails_test" not in plan_with(MIXED).to_json()


def fixing(user: str, before: str, after: str, line: int = 4) -> ValueDiff:
    """A value diff whose "before" failed the test file's expectation at `line`, "after"
    holds it."""
    return diff(user, before, after).model_copy(
        update={"fixes_test": FixedTest(expected=after, line=line)}
    )


#: alice's change fixes her test, bob's breaks his, carol's moves a value no test fails.
FIXED = [
    diff("carol", "1", "2"),
    fixing("alice", "120", "130", line=6),
    failing("bob", "5", "6", "5", line=7),
]


def test_text_names_the_users_whose_test_the_change_fixes() -> None:
    """A change that made a failing test pass read like any other value change."""
    lines = text_of(plan_with(FIXED))
    at = lines.index('  ~ update "LTV" (id 7)')
    assert lines[at + 3 : at + 5] == [
        "      ✗ tests fail: bob: expected 5, got 6 (ltv.test.yaml:7)",
        "      ✓ fixes test: alice (ltv.test.yaml:6)",
    ]
    two = text_of(plan_with([fixing("alice", "1", "2", 3), fixing("bob", "1", "2", 5)]))
    assert "      ✓ fixes tests: alice (ltv.test.yaml:3), bob (ltv.test.yaml:5)" in two
    assert not any("✗" in line for line in two)  # no failure: no line above the summary
    assert not any("fixes" in line for line in text_of(plan_with(BROKEN)))


def test_markdown_counts_and_marks_the_tests_a_change_fixes() -> None:
    text = markdown.markdown(plan_with(FIXED))
    title = "test values: 3 of 3 change · ❌ 1 fails its test · ✓ 1 fixes its test</summary>"
    assert title in text
    assert (
        "| test user | before | after | test |\n"
        "|---|---|---|---|\n"
        "| `bob` | `5` | `6` | ❌ expected `5` (`ltv.test.yaml:7`) |\n"
        "| `alice` | `120` | `130` | ✓ fixed (`ltv.test.yaml:6`) |\n"
        "| `carol` | `1` | `2` | ✓ |"
    ) in text
    only_fixes = markdown.markdown(plan_with([fixing("alice", "1", "2"), diff("dan", "3", "3")]))
    assert "· test values: 1 of 2 change · ✓ 1 fixes its test</summary>" in only_fixes
    assert "| `alice` | `1` | `2` | ✓ fixed (`ltv.test.yaml:4`) |\n\n_1 unchanged" in only_fixes
    assert "> [!WARNING]" not in only_fixes  # a fix is good news: no alert
    assert gfm.Page.of(only_fixes).problems == []


def test_json_has_fixes_test_only_where_a_change_fixes_a_test(tmp_path: Path) -> None:
    plan = plan_with(FIXED)
    document = json.loads(plan.to_json())
    assert document["format_version"] == 2
    found = document["actions"][0]["values"]
    assert [v.get("fixes_test") for v in found] == [None, {"expected": "130", "line": 6}, None]
    assert ["fixes_test" in v for v in found] == [False, True, False]
    assert ["fails_test" in v for v in found] == [False, False, True]
    path = tmp_path / "plan.json"
    plan.save(path)
    assert Plan.load(path) == plan
    assert b"fixes_test" not in plan_with(BROKEN).to_json()
