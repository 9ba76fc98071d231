"""Rendering a Plan for people: Terraform-like text for terminals, Markdown for PR comments.

Renderers only read the plan. Text uses colour only where the Output allows it; Markdown
is truncated deterministically below GitHub's comment limit. Names and values come from
the workspace as much as from the manifests: every one is escaped (`errors.printable`;
Markdown HTML-escapes as well), so an escape sequence or a bidi override in a live CA's
name cannot hide or disguise a line from a reviewer. The JSON form is data and is exact.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from itertools import groupby
from typing import Any

from rich.text import Text

from reconciler.errors import printable
from reconciler.plan.value import Action, Change, Plan

MARKDOWN_LIMIT = 60_000

SYMBOL = {"create": "+", "update": "~", "discard_draft": "-", "activate": "!", "delete": "x"}
VERB = {
    "create": "create",
    "update": "update",
    "discard_draft": "discard draft",
    "activate": "activate",
    "delete": "delete",
}
STYLE = {
    "create": "green",
    "update": "yellow",
    "discard_draft": "magenta",
    "activate": "cyan",
    "delete": "red",
}


def value_text(value: Any, limit: int = 200) -> str:
    """A value as JSON for a reader: bidi and other format characters escaped too."""
    text = printable(json.dumps(value, ensure_ascii=False, sort_keys=False, default=str))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_line(change: Change) -> tuple[str, str]:
    """(symbol, text) of one field change."""
    path = printable(change.path)
    if change.before is None:
        return "+", f"{path}: {value_text(change.after)}"
    if change.after is None:
        return "-", f"{path}: {value_text(change.before)}"
    return "~", f"{path}: {value_text(change.before)} -> {value_text(change.after)}"


def summary_line(plan: Plan) -> str:
    s = plan.summary
    tail = f"{s.unchanged} unchanged, {s.unmanaged} unmanaged."
    if plan.empty:
        return f"No changes. {tail}"
    return (
        f"Plan: {s.create} to create, {s.update} to update, {s.discard_draft} drafts to discard, "
        f"{s.activate} to activate, {s.delete} to delete. {tail}"
    )


def _title(action: Action) -> str:
    where = f" (id {action.id})" if action.id is not None else ""
    return f'{VERB[action.action]} "{printable(action.name)}"{where}'


def text(plan: Plan) -> Iterator[Text]:
    """The plan as lines of (optionally styled) text."""
    if plan.actions:
        yield Text(f"Reconciler will perform these actions in workspace {plan.workspace_id}:")
        yield Text("")
        for _, group in groupby(plan.actions, key=lambda action: action.name):
            for action in group:
                style = STYLE[action.action]
                yield Text("  ") + Text(
                    f"{SYMBOL[action.action]} {_title(action)}", style=f"bold {style}"
                )
                for change in action.changes:
                    symbol, line = change_line(change)
                    yield Text(f"      {symbol} {line}", style=style if symbol != "~" else "")
                for warning in action.warnings:
                    yield Text(f"      ⚠ {printable(warning)}", style="yellow")
            yield Text("")
    if plan.unmanaged:
        yield Text("Unmanaged (live, in no manifest; `prune: true` deletes them):")
        for name in plan.unmanaged:
            yield Text(f'  ? "{printable(name)}"', style="dim")
        yield Text("")
    yield Text(summary_line(plan), style="bold")


def _html(text: str) -> str:
    """Outside text in Markdown: escaped for a terminal, then for HTML."""
    return html.escape(printable(text))


def _fence(body: str) -> str:
    longest = max((len(run) for run in body.split("\n") if set(run) == {"`"}), default=0)
    return "`" * max(3, longest + 1)


def _section(name: str, actions: list[Action]) -> str:
    verbs = ", ".join(VERB[a.action] for a in actions)
    symbol = SYMBOL[actions[0].action]
    warnings = sorted({printable(w) for a in actions for w in a.warnings})
    flag = f" ⚠️ {html.escape(', '.join(warnings))}" if warnings else ""
    lines: list[str] = []
    for action in actions:
        where = f" (id {action.id})" if action.id is not None else ""
        lines.append(f"{SYMBOL[action.action]} {VERB[action.action]}{where}")
        for change in action.changes:
            before, after = change.before, change.after
            if before is not None and after is not None:
                lines.append(f"- {printable(change.path)}: {value_text(before)}")
                lines.append(f"+ {printable(change.path)}: {value_text(after)}")
            else:
                lines.append(" ".join(change_line(change)))
        lines += [f"! warning: {printable(w)}" for w in action.warnings]
    body = "\n".join(lines)
    fence = _fence(body)
    return (
        f"<details><summary><code>{symbol}</code> <b>{_html(name)}</b>: {verbs}{flag}"
        f"</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n"
    )


def markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    """A PR comment: summary table, one collapsible section per CA, under `limit` characters."""
    s = plan.summary
    head = [
        f"### reconciler plan for workspace {plan.workspace_id}",
        "",
        "| create | update | discard draft | activate | delete | unchanged | unmanaged |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s.create} | {s.update} | {s.discard_draft} | {s.activate} | {s.delete} "
        f"| {s.unchanged} | {s.unmanaged} |",
        "",
        f"**{html.escape(summary_line(plan))}**",
        "",
    ]
    sections = [
        _section(name, list(group)) for name, group in groupby(plan.actions, key=lambda a: a.name)
    ]
    if plan.unmanaged:
        names = "\n".join(f"- {_html(name)}" for name in plan.unmanaged)
        sections.append(
            f"<details><summary>{len(plan.unmanaged)} unmanaged (live, in no manifest)</summary>"
            f"\n\n{names}\n\n</details>\n"
        )
    out = "\n".join(head) + "\n"
    reserve = 200
    for index, section in enumerate(sections):
        if len(out) + len(section) + reserve > limit:
            rest = len(sections) - index
            out += (
                f"\n_… {rest} more section{'s' if rest != 1 else ''} not shown (comment size "
                "limit). The saved plan (`plan --out`) has every action._\n"
            )
            break
        out += section
    return out
