"""Rendering a Plan for people: Terraform-like text for terminals, Markdown for PR comments.

Renderers only read the plan. Text uses colour only where the Output allows it; Markdown
is truncated deterministically below GitHub's comment limit. Several environments
(`plan --env all`) render as one section per environment. Names and values come from
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
from reconciler.plan.value import Action, Change, Plan, Promotion

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
    if plan.selection.active:
        tail += f" {plan.selection.not_selected} not selected."
    if plan.empty:
        return f"No changes. {tail}"
    return (
        f"Plan: {s.create} to create, {s.update} to update, {s.discard_draft} drafts to discard, "
        f"{s.activate} to activate, {s.delete} to delete. {tail}"
    )


def _title(action: Action) -> str:
    where = f" (id {action.id})" if action.id is not None else ""
    return f'{VERB[action.action]} "{printable(action.name)}"{where}'


def workspace_words(plan: Plan) -> str:
    """`workspace 333 (environment prod)`, or `workspace 1234` for the unnamed one."""
    named = f" (environment {plan.environment})" if plan.environment else ""
    return f"workspace {plan.workspace_id}{named}"


def gate_lines(promotion: Promotion | None, name: str) -> list[tuple[bool, str]]:
    """(promoted, "promoted from staging ✓" / "not yet active in staging ... ✗") for one CA
    the promotion gate checked."""
    if promotion is None:
        return []
    return [
        (check.promoted, f"{check.reason} {'✓' if check.promoted else '✗'}")
        for check in promotion.checks
        if check.name == name
    ]


def _overrides(plan: Plan) -> Iterator[Text]:
    if not plan.overridden:
        return
    rules = ", ".join(sorted({v.rule for v in plan.overridden}))
    yield Text(f"Safety rules overridden (--allow {rules}):", style="bold red")
    for violation in plan.overridden:
        yield Text(f"  ⚠ [{violation.rule}] {printable(violation.message)}", style="red")
    yield Text("")


def _actions(plan: Plan) -> Iterator[Text]:
    yield Text(f"Reconciler will perform these actions in {workspace_words(plan)}:")
    yield Text("")
    for name, group in groupby(plan.actions, key=lambda action: action.name):
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
        for promoted, line in gate_lines(plan.promotion, name):
            yield Text(f"      {printable(line)}", style="green" if promoted else "red")
        yield Text("")


def text(plan: Plan) -> Iterator[Text]:
    """The plan as lines of (optionally styled) text."""
    yield from _overrides(plan)
    if plan.actions:
        yield from _actions(plan)
    kept = [note for note in plan.drafts if note.kept]
    if kept:
        yield Text("Drafts kept (made outside Git; `drafts: preserve` never discards them):")
        for note in kept:
            yield Text(f'  = draft kept "{printable(note.name)}" (id {note.id})', style="magenta")
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


def text_all(plans: dict[str, Plan]) -> Iterator[Text]:
    """Several environments' plans (`--env all`): one section each, in the order given."""
    for index, (name, plan) in enumerate(plans.items()):
        if index:
            yield Text("")
        yield Text(f"== Environment {name}: workspace {plan.workspace_id} ==", style="bold")
        yield Text("")
        yield from text(plan)


def _fence(body: str) -> str:
    longest = max((len(run) for run in body.split("\n") if set(run) == {"`"}), default=0)
    return "`" * max(3, longest + 1)


def _section(name: str, actions: list[Action], promotion: Promotion | None = None) -> str:
    verbs = ", ".join(VERB[a.action] for a in actions)
    symbol = SYMBOL[actions[0].action]
    warnings = sorted({printable(w) for a in actions for w in a.warnings})
    flag = f" ⚠️ {html.escape(', '.join(warnings))}" if warnings else ""
    gate = gate_lines(promotion, name)
    flag += "".join(f" · {_html(line)}" for _, line in gate)
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
    lines += [f"{'+' if promoted else '!'} gate: {printable(line)}" for promoted, line in gate]
    body = "\n".join(lines)
    fence = _fence(body)
    return (
        f"<details><summary><code>{symbol}</code> <b>{_html(name)}</b>: {verbs}{flag}"
        f"</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n"
    )


def _overridden_block(plan: Plan) -> list[str]:
    """What the allowed safety rules let through, as a GitHub alert a reviewer cannot miss."""
    if plan.overridden:
        rules = " ".join(f"`--allow {r}`" for r in dict.fromkeys(v.rule for v in plan.overridden))
        lines = ["> [!CAUTION]", f"> **Safety rules overridden for this plan:** {rules}"]
        lines += [f"> - **{html.escape(v.rule)}**: {_html(v.message)}" for v in plan.overridden]
        return [*lines, ""]
    if plan.allowed:
        allowed = ", ".join(f"`{rule}`" for rule in plan.allowed)
        return ["> [!NOTE]", f"> Safety rules allowed (none was needed): {allowed}", ""]
    return []


def _table(plan: Plan) -> list[str]:
    s = plan.summary
    columns = "| create | update | discard draft | activate | delete | unchanged | unmanaged |"
    rule_line = "|---:|---:|---:|---:|---:|---:|---:|"
    row = (
        f"| {s.create} | {s.update} | {s.discard_draft} | {s.activate} | {s.delete} "
        f"| {s.unchanged} | {s.unmanaged} |"
    )
    if plan.selection.active:
        columns += " not selected |"
        rule_line += "---:|"
        row += f" {plan.selection.not_selected} |"
    return [columns, rule_line, row]


def _extra_sections(plan: Plan) -> list[str]:
    sections: list[str] = []
    kept = [note for note in plan.drafts if note.kept]
    if kept:
        names = "\n".join(f"- {_html(n.name)} (id {n.id})" for n in kept)
        sections.append(
            f"<details><summary>{len(kept)} draft{'s' if len(kept) != 1 else ''} kept (made "
            f"outside Git; drafts: preserve)</summary>\n\n{names}\n\n</details>\n"
        )
    if plan.unmanaged:
        names = "\n".join(f"- {_html(name)}" for name in plan.unmanaged)
        sections.append(
            f"<details><summary>{len(plan.unmanaged)} unmanaged (live, in no manifest)</summary>"
            f"\n\n{names}\n\n</details>\n"
        )
    return sections


def markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    """A PR comment: summary table, one collapsible section per CA, under `limit` characters."""
    head = [
        f"### reconciler plan for {html.escape(workspace_words(plan))}",
        "",
        *_overridden_block(plan),
        *_table(plan),
        "",
        f"**{html.escape(summary_line(plan))}**",
        "",
    ]
    sections = [
        _section(name, list(group), plan.promotion)
        for name, group in groupby(plan.actions, key=lambda a: a.name)
    ]
    sections += _extra_sections(plan)
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


def markdown_all(plans: dict[str, Plan], limit: int = MARKDOWN_LIMIT) -> str:
    """One PR comment for several environments: a table of them, then each one's plan in
    its own section (each truncated to its share of `limit`)."""
    rows = [
        f"| {html.escape(name)} | {plan.workspace_id} | {plan.summary.create} "
        f"| {plan.summary.update} | {plan.summary.discard_draft} | {plan.summary.activate} "
        f"| {plan.summary.delete} | {plan.summary.unchanged} | {plan.summary.unmanaged} "
        f"| {len(plan.overridden) or ''} |"
        for name, plan in plans.items()
    ]
    head = [
        f"## reconciler plan for {len(plans)} environment{'s' if len(plans) != 1 else ''}",
        "",
        "| environment | workspace | create | update | discard draft | activate | delete "
        "| unchanged | unmanaged | overridden |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    out = "\n".join(head) + "\n"
    share = max(2_000, (limit - len(out)) // max(1, len(plans)) - 100)
    for plan in plans.values():
        out += "\n" + markdown(plan, limit=share)
    return out
