"""One CA's collapsible section of the PR comment (`plan.markdown`): a summary line with
its actions, warnings, gate and how many test values change, then its diff in a fenced
block and the table of its test users' values."""

from __future__ import annotations

from reconciler.errors import printable
from reconciler.plan import gfm
from reconciler.plan.render import (
    change_line,
    gate_lines,
    no_value_changes,
    shown_value,
    user_label,
    users_text,
    value_text,
)
from reconciler.plan.value import Action, Promotion, ValueDiff

#: How many changed test users a CA's table lists (the JSON plan has every one).
TABLE_ROWS = 20


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _values_table(values: list[ValueDiff]) -> str:
    """A CA's test users whose value changes, as a table; or that none does."""
    changed = [diff for diff in values if diff.changed]
    count = len(values)
    if not changed:
        return f"_{_sentence(no_value_changes(count))}._\n\n"
    rows = ["| test user | before | after |", "|---|---|---|"]
    rows += [
        f"| {gfm.cell(user_label(d, values))} | {gfm.cell(shown_value(d.before, 80))} "
        f"| {gfm.cell(shown_value(d.after, 80))} |"
        for d in changed[:TABLE_ROWS]
    ]
    notes = []
    if len(changed) > TABLE_ROWS:
        notes.append(f"{len(changed) - TABLE_ROWS} more changed (the JSON plan has every user)")
    if len(changed) < count:
        notes.append(f"{count - len(changed)} unchanged")
    tail = f"\n\n_{_sentence('; '.join(notes))}._" if notes else ""
    users = f"{count} test user{'s' if count != 1 else ''}"
    return f"**Values of the test users** ({users}):\n\n" + "\n".join(rows) + tail + "\n\n"


def _values_flag(actions: list[Action]) -> str:
    """The section title's note: how many test users' values change."""
    values = next((a.values for a in actions if a.values), None)
    if values is None:
        return ""
    changed = sum(diff.changed for diff in values)
    if not changed:
        return " · test values: none change"
    return f" · test values: {changed} of {len(values)} change"


def ca_section(name: str, actions: list[Action], promotion: Promotion | None = None) -> str:
    """The section of the CA `name`, whose `actions` these are (`promotion`: the gate that
    checked them, if any)."""
    verbs = ", ".join(a.kind.verb for a in actions)
    symbol = actions[0].kind.symbol
    warnings = sorted({w for a in actions for w in a.warnings})
    flag = f" ⚠️ {gfm.html_text(', '.join(warnings))}" if warnings else ""
    gate = gate_lines(promotion, name)
    flag += "".join(f" · {gfm.html_text(line)}" for _, line in gate)
    flag += _values_flag(actions)
    lines: list[str] = []
    for action in actions:
        where = f" (id {action.id})" if action.id is not None else ""
        seeding = f" with {users_text(action.users)}" if action.users is not None else ""
        lines.append(f"{action.kind.symbol} {action.kind.verb}{where}{seeding}")
        for change in action.changes:
            before, after = change.before, change.after
            if before is not None and after is not None:
                lines.append(f"- {printable(change.path)}: {value_text(before)}")
                lines.append(f"+ {printable(change.path)}: {value_text(after)}")
            else:
                lines.append(" ".join(change_line(change)))
        lines += [f"! warning: {printable(w)}" for w in action.warnings]
    lines += [f"{'+' if promoted else '!'} gate: {printable(line)}" for promoted, line in gate]
    body = "\n".join(lines)
    fence = gfm.fence(body)
    tables = "".join(_values_table(a.values) for a in actions if a.values)
    return (
        f"<details><summary><code>{symbol}</code> <b>{gfm.name(name, block=True)}</b>: {verbs}"
        f"{flag}"
        f"</summary>\n\n{fence}diff\n{body}\n{fence}\n\n{tables}</details>\n"
    )
