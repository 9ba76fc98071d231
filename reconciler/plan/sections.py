"""One CA's collapsible section of the PR comment (`plan.markdown`): a summary line with
its actions, warnings, gate and how many test values change, fail their tests or fix
them, then its diff in a fenced block and the table of its test users' values (a failing
one's with what its test expects, a fixing one's with the test it fixes). A section too
large for the comment can be cut below a size, whole in its form (fence and `<details>`
closed): every action and warning stays, the field changes that do not fit are counted,
and the summary says so; where its tables go too, the note in their place still counts
the test users who fail or fix a test."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate, takewhile

from reconciler.errors import printable
from reconciler.plan import gfm
from reconciler.plan.render import change_line, gate_lines, users_text
from reconciler.plan.value import Action, Promotion, ValueDiff
from reconciler.plan.values_text import (
    no_value_changes,
    shown_value,
    test_where,
    user_label,
    value_text,
)

#: How many changed test users a CA's table lists (the JSON plan has every one).
TABLE_ROWS = 20


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _test_cell(diff: ValueDiff) -> str:
    """`❌ expected 129.99 (commerce.test.yaml:76)` where the "after" value fails its test,
    `✓ fixed (commerce.test.yaml:76)` where it passes a test "before" failed."""
    failed, fixed = diff.fails_test, diff.fixes_test
    if failed is not None:
        expected = gfm.cell(shown_value(failed.expected, 80))
        return f"❌ expected {expected} ({gfm.cell(test_where(diff, failed))})"
    if fixed is not None:
        return f"✓ fixed ({gfm.cell(test_where(diff, fixed))})"
    return "✓"


def _values_notes(values: list[ValueDiff], shown: int, failing: bool) -> str:
    """What a CA's table does not list: the users past TABLE_ROWS, those left out."""
    notes = []
    if shown > TABLE_ROWS:
        listed = "changed or failing" if failing else "changed"
        notes.append(f"{shown - TABLE_ROWS} more {listed} (the JSON plan has every user)")
    if shown < len(values):
        notes.append(f"{len(values) - shown} unchanged{' and passing' if failing else ''}")
    return f"\n\n_{_sentence('; '.join(notes))}._" if notes else ""


def _values_table(values: list[ValueDiff]) -> str:
    """A CA's test users whose value changes, or fails its test (those first, with what
    was expected; then those whose test it fixes), as a table; or that none does."""
    changed = [diff for diff in values if diff.changed]
    failing = [diff for diff in values if diff.failing]
    fixing = [diff for diff in changed if diff.fixing]
    count = len(values)
    none_change = f"_{_sentence(no_value_changes(count))}._\n\n"
    if not changed and not failing:
        return none_change
    rest = [diff for diff in changed if not diff.failing and not diff.fixing]
    shown = failing + fixing + rest
    tested = bool(failing or fixing)
    rows = ["| test user | before | after |", "|---|---|---|"]
    if tested:
        rows = ["| test user | before | after | test |", "|---|---|---|---|"]
    for d in shown[:TABLE_ROWS]:
        test = f" {_test_cell(d)} |" if tested else ""
        rows.append(
            f"| {gfm.cell(user_label(d, values))} | {gfm.cell(shown_value(d.before, 80))} "
            f"| {gfm.cell(shown_value(d.after, 80))} |{test}"
        )
    tail = _values_notes(values, len(shown), bool(failing))
    users = f"{count} test user{'s' if count != 1 else ''}"
    head = "" if changed else none_change
    return f"{head}**Values of the test users** ({users}):\n\n" + "\n".join(rows) + tail + "\n\n"


def _tests_counted(values: list[ValueDiff]) -> list[str]:
    """`❌ 2 fail their tests`, `✓ 1 fixes its test`: the test users a change fails or fixes
    (each where there are any)."""
    failing = sum(diff.failing for diff in values)
    fixing = sum(diff.fixing for diff in values)
    counted = []
    if failing:
        counted.append("❌ 1 fails its test" if failing == 1 else f"❌ {failing} fail their tests")
    if fixing:
        counted.append("✓ 1 fixes its test" if fixing == 1 else f"✓ {fixing} fix their tests")
    return counted


def _values_flag(actions: list[Action]) -> str:
    """The section title's note: how many test users' values change, fail their tests and
    fix them."""
    values = next((a.values for a in actions if a.values), None)
    if values is None:
        return ""
    changed = sum(diff.changed for diff in values)
    tests = "".join(f" · {count}" for count in _tests_counted(values))
    if not changed:
        return f" · test values: none change{tests}"
    return f" · test values: {changed} of {len(values)} change{tests}"


#: One step of a CA's diff: the action's line, its field changes (one entry each, a changed
#: value's `-` and `+` lines together) and its warnings; the gate's lines are a step too.
_Step = tuple[list[str], list[str], list[str]]


def _diff_lines(steps: list[_Step], shown: int | None = None) -> list[str]:
    """A CA's diff: every action and warning, the first `shown` field changes (every one
    with None), and under an action whose changes are cut, how many are not shown."""
    left = sum(len(changes) for _, changes, _ in steps) if shown is None else shown
    lines: list[str] = []
    for head, changes, tail in steps:
        kept = changes[:left]
        left -= len(kept)
        lines += head + kept
        if len(kept) < len(changes):
            lines.append(
                f"… {len(changes) - len(kept)} more changes not shown (comment size limit): "
                "the JSON plan (--format json) has every one"
            )
        lines += tail
    return lines


def _steps(actions: list[Action], gate: list[tuple[bool, str]]) -> list[_Step]:
    steps: list[_Step] = []
    for action in actions:
        where = f" (id {action.id})" if action.id is not None else ""
        seeding = f" with {users_text(action.users)}" if action.users is not None else ""
        changes = []
        for change in action.changes:
            before, after = change.before, change.after
            if before is not None and after is not None:
                path = printable(change.path)
                changes.append(f"- {path}: {value_text(before)}\n+ {path}: {value_text(after)}")
            else:
                changes.append(" ".join(change_line(change)))
        warnings = [f"! warning: {printable(w)}" for w in action.warnings]
        steps.append(
            ([f"{action.kind.symbol} {action.kind.verb}{where}{seeding}"], changes, warnings)
        )
    gates = [f"{'+' if promoted else '!'} gate: {printable(line)}" for promoted, line in gate]
    return [*steps, (gates, [], [])] if gates else steps


def _tables_cut(actions: list[Action]) -> str:
    """What a cut CA section says in place of its tables of test values, when they do not
    fit: with how many test users the change fails or fixes a test, which the tables' `test`
    column showed."""
    values = [diff for action in actions for diff in action.values or ()]
    counted = _tests_counted(values)
    tests = f" ({', '.join(counted)})" if counted else ""
    return (
        f"_The test users' values are not shown{tests} (comment size limit): the JSON plan "
        "(`--format json`) has them._\n\n"
    )


@dataclass(frozen=True)
class CaSection:
    """A CA's collapsible section: its summary line (`summary`: from `<details>` up to, not
    with, its `</summary>`), its diff and its tables of test values."""

    summary: str
    steps: list[_Step]
    tables: str
    #: What stands in place of `tables` where they are cut.
    tables_cut: str = ""

    def text(self, shown: int | None = None, tables: bool = True) -> str:
        """The section, with the first `shown` field changes (None: whole), and its tables
        (else a note that they are cut)."""
        body = "\n".join(_diff_lines(self.steps, shown))
        fence = gfm.fence(body)
        cut = " · cut (comment size limit)" if shown is not None else ""
        rest = self.tables if tables or not self.tables else self.tables_cut
        return (
            f"{self.summary}{cut}</summary>\n\n{fence}diff\n{body}\n{fence}\n\n{rest}</details>\n"
        )

    def within(self, size: int) -> str | None:
        """The section cut to below `size` characters: every action and warning, as many
        field changes as fit, and its tables where the section with them and no field
        change takes less than half of `size`; None when not even its actions and warnings
        fit."""
        tables = len(self.text(0)) < size // 2
        if len(self.text(0, tables)) >= size:
            return None
        # No more changes than their own lines would fit: a CA of 100,000 changes is not
        # rendered whole at each step of the search.
        lengths = accumulate(len(line) + 1 for _, changes, _ in self.steps for line in changes)
        low, high = 0, sum(1 for _ in takewhile(lambda used: used < size, lengths))
        while low < high:  # the most changes that fit
            middle = (low + high + 1) // 2
            if len(self.text(middle, tables)) < size:
                low = middle
            else:
                high = middle - 1
        return self.text(low, tables)


def ca_section(name: str, actions: list[Action], promotion: Promotion | None = None) -> CaSection:
    """The section of the CA `name`, whose `actions` these are (`promotion`: the gate that
    checked them, if any)."""
    verbs = ", ".join(a.kind.verb for a in actions)
    symbol = actions[0].kind.symbol
    warnings = sorted({w for a in actions for w in a.warnings})
    flag = f" ⚠️ {gfm.html_text(', '.join(warnings))}" if warnings else ""
    gate = gate_lines(promotion, name)
    flag += "".join(f" · {gfm.html_text(line)}" for _, line in gate)
    flag += _values_flag(actions)
    summary = (
        f"<details><summary><code>{symbol}</code> <b>{gfm.name(name, block=True)}</b>: {verbs}"
        f"{flag}"
    )
    tables = "".join(_values_table(a.values) for a in actions if a.values)
    return CaSection(summary, _steps(actions, gate), tables, _tables_cut(actions))
