"""Rendering a Plan for people: Terraform-like text for terminals, Markdown for PR comments,
and the apply report that says what became of each action.

Renderers only read the plan (or report); every word of an action kind comes from
`plan.value.KINDS`. Text uses colour only where the Output allows it; Markdown is truncated
deterministically below GitHub's comment limit.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from itertools import groupby
from typing import Any, Literal

from rich.text import Text

from reconciler.console import Output
from reconciler.plan.report import ActionOutcome, ApplyReport, Status
from reconciler.plan.value import ACTION_KINDS, KINDS, Action, Change, Plan

MARKDOWN_LIMIT = 60_000
Format = Literal["text", "markdown", "json"]
#: The mark of an action's outcome in the apply report.
MARK: dict[Status, str] = {"done": "✓", "failed": "✗", "not_started": "·"}


def value_text(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_line(change: Change) -> tuple[str, str]:
    """(symbol, text) of one field change."""
    if change.before is None:
        return "+", f"{change.path}: {value_text(change.after)}"
    if change.after is None:
        return "-", f"{change.path}: {value_text(change.before)}"
    return "~", f"{change.path}: {value_text(change.before)} -> {value_text(change.after)}"


def summary_line(plan: Plan) -> str:
    s = plan.summary
    tail = f"{s.unchanged} unchanged, {s.unmanaged} unmanaged."
    if plan.empty:
        return f"No changes. {tail}"
    counts = ", ".join(f"{s.of(kind)} {KINDS[kind].counted}" for kind in ACTION_KINDS)
    return f"Plan: {counts}. {tail}"


def _title(action: Action, ca_id: int | None = None) -> str:
    shown = action.id if ca_id is None else ca_id
    where = f" (id {shown})" if shown is not None else ""
    return f'{action.kind.verb} "{action.name}"{where}'


def text(plan: Plan) -> Iterator[Text]:
    """The plan as lines of (optionally styled) text."""
    if plan.actions:
        yield Text(f"Reconciler will perform these actions in workspace {plan.workspace_id}:")
        yield Text("")
        for _, group in groupby(plan.actions, key=lambda action: action.name):
            for action in group:
                style = action.kind.style
                yield Text("  ") + Text(
                    f"{action.kind.symbol} {_title(action)}", style=f"bold {style}"
                )
                for change in action.changes:
                    symbol, line = change_line(change)
                    yield Text(f"      {symbol} {line}", style=style if symbol != "~" else "")
                for warning in action.warnings:
                    yield Text(f"      ⚠ {warning}", style="yellow")
            yield Text("")
    if plan.unmanaged:
        yield Text("Unmanaged (live, in no manifest; `prune: true` deletes them):")
        for name in plan.unmanaged:
            yield Text(f'  ? "{name}"', style="dim")
        yield Text("")
    yield Text(summary_line(plan), style="bold")


def _fence(body: str) -> str:
    longest = max((len(run) for run in body.split("\n") if set(run) == {"`"}), default=0)
    return "`" * max(3, longest + 1)


def _section(name: str, actions: list[Action]) -> str:
    verbs = ", ".join(a.kind.verb for a in actions)
    symbol = actions[0].kind.symbol
    warnings = sorted({w for a in actions for w in a.warnings})
    flag = f" ⚠️ {html.escape(', '.join(warnings))}" if warnings else ""
    lines: list[str] = []
    for action in actions:
        where = f" (id {action.id})" if action.id is not None else ""
        lines.append(f"{action.kind.symbol} {action.kind.verb}{where}")
        for change in action.changes:
            before, after = change.before, change.after
            if before is not None and after is not None:
                lines.append(f"- {change.path}: {value_text(before)}")
                lines.append(f"+ {change.path}: {value_text(after)}")
            else:
                lines.append(" ".join(change_line(change)))
        lines += [f"! warning: {w}" for w in action.warnings]
    body = "\n".join(lines)
    fence = _fence(body)
    return (
        f"<details><summary><code>{symbol}</code> <b>{html.escape(name)}</b>: {verbs}{flag}"
        f"</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n"
    )


def markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    """A PR comment: summary table, one collapsible section per CA, under `limit` characters."""
    s = plan.summary
    columns = [KINDS[kind].verb for kind in ACTION_KINDS] + ["unchanged", "unmanaged"]
    counts = [s.of(kind) for kind in ACTION_KINDS] + [s.unchanged, s.unmanaged]
    head = [
        f"### reconciler plan for workspace {plan.workspace_id}",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---:|" * len(columns),
        "| " + " | ".join(map(str, counts)) + " |",
        "",
        f"**{html.escape(summary_line(plan))}**",
        "",
    ]
    sections = [
        _section(name, list(group)) for name, group in groupby(plan.actions, key=lambda a: a.name)
    ]
    if plan.unmanaged:
        names = "\n".join(f"- {html.escape(name)}" for name in plan.unmanaged)
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


def show(plan: Plan, output: Output, fmt: Format) -> None:
    """Print the plan on stdout as `plan` does: text, Markdown or the JSON plan."""
    if fmt == "json":
        output.write_raw(plan.to_json().decode())
    elif fmt == "markdown":
        output.write_raw(markdown(plan))
    else:
        # One print of the whole plan: rich spends as long on each call as on a line.
        output.print(Text("\n").join(text(plan)))


def outcome_title(outcome: ActionOutcome) -> str:
    """`activate "LTV" (id 7)`, and a note when a lost create's CA was adopted."""
    adopted = " (adopted: it existed after a lost answer)" if outcome.adopted else ""
    return _title(outcome.action, outcome.ca_id) + adopted


def outcome_line(outcome: ActionOutcome) -> Text:
    """One step as apply prints it while it runs: `✓ create "LTV"`."""
    style = "green" if outcome.status == "done" else "red"
    line = Text(f"{MARK[outcome.status]} {outcome_title(outcome)}", style=style)
    if outcome.message:
        line += Text(f": {outcome.message}")
    return line


def report_text(report: ApplyReport) -> list[Text]:
    """The apply report: one line when all went well, else every action's outcome."""
    done, failed, waiting = (report.count(s) for s in ("done", "failed", "not_started"))
    if report.ok:
        return [Text(f"Apply complete: {done} done.", style="bold green")]
    lines = [
        Text(
            f"Apply stopped: {done} done, {failed} failed, {waiting} not started.", style="bold red"
        )
    ]
    for outcome in report.outcomes:
        status = outcome.status.replace("_", " ")
        text = f"  {MARK[outcome.status]} {status}: {outcome_title(outcome)}"
        lines.append(Text(text + (f": {outcome.message}" if outcome.message else "")))
    lines.append(
        Text("Nothing was rolled back. Re-run `reconciler apply` to continue from the live state.")
    )
    return lines
