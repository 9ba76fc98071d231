"""Value diffs as the plans show them: a line under the action in text, a table per CA in
Markdown, `actions[].values` in JSON (and no `values` key where none were computed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from reconciler.console import Output
from reconciler.plan import markdown, render
from reconciler.plan.value import Action, Change, Plan, ValueDiff, summarize
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
