"""Rendering a Plan for people: Terraform-like text for terminals (Markdown for PR comments
is `plan.markdown`; the apply report's text is `plan.report_text`).

Renderers only read the plan; every word of an action kind comes from `plan.value.KINDS`,
and the test users' values are worded by `plan.values_text`. Text uses colour only where
the Output allows it. Several environments (`plan --env all`) render as one section per
environment. Names and values come from the workspace as much as from the manifests: every
one is escaped (`errors.printable`), so an escape sequence or a bidi override in a live
CA's name cannot hide or disguise a line from a reviewer; a name is quoted as a value is
(`errors.quoted`), so a `"` in it reads as part of it. The JSON form is data and is exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from typing import Any, Literal

import orjson
from rich.text import Text

from reconciler.console import Output
from reconciler.errors import first_few, printable, quoted
from reconciler.plan.promotion import described
from reconciler.plan.value import (
    ACTION_KINDS,
    KINDS,
    Action,
    ActionKind,
    Change,
    Plan,
    Promotion,
    Summary,
    Violation,
)
from reconciler.plan.values_text import (
    failing_tests,
    failing_users,
    fails_line,
    fixes_line,
    value_text,
    values_line,
)

Format = Literal["text", "markdown", "json"]


def change_line(change: Change) -> tuple[str, str]:
    """(symbol, text) of one field change."""
    path = printable(change.path)
    if change.before is None:
        return "+", f"{path}: {value_text(change.after)}"
    if change.after is None:
        return "-", f"{path}: {value_text(change.before)}"
    return "~", f"{path}: {value_text(change.before)} -> {value_text(change.after)}"


def counted_kinds(*summaries: Summary) -> list[ActionKind]:
    """The kinds a summary counts: every kind always counted, the others where any of
    `summaries` has some (a plan without `--seeds` says nothing of seeding)."""
    return [
        kind
        for kind in ACTION_KINDS
        if KINDS[kind].always or any(summary.of(kind) for summary in summaries)
    ]


def budget_sentence(summary: Summary) -> str:
    """`Active after apply: 12 of 100.` (without a known limit: `Active after apply: 12.`);
    empty when the plan does not know (a plan of format 1)."""
    if summary.active_after is None:
        return ""
    limit = f" of {summary.active_limit}" if summary.active_limit is not None else ""
    return f"Active after apply: {summary.active_after}{limit}."


def _failing_line(plan: Plan) -> Text | None:
    """The plan's failing tests, above the summary: a reviewer sees them without reading
    each CA."""
    count, names = failing_tests(plan)
    if not count:
        return None
    cas = first_few([quoted(name) for name in names], ", ", ", ")
    line = f"✗ {failing_users(count)} (of {cas}): `reconciler test` fails."
    return Text(line, style="bold red")


def summary_line(plan: Plan) -> str:
    s = plan.summary
    tail = f"{s.unchanged} unchanged, {s.unmanaged} unmanaged."
    if plan.selection.active:
        tail += f" {plan.selection.not_selected} not selected."
    budget = budget_sentence(s)
    if budget:
        tail += f" {budget}"
    if plan.empty:
        return f"No changes. {tail}"
    counts = ", ".join(f"{s.of(kind)} {KINDS[kind].counted}" for kind in counted_kinds(s))
    return f"Plan: {counts}. {tail}"


def users_text(count: int) -> str:
    return f"{count:,} user{'s' if count != 1 else ''}"


def action_title(action: Action, ca_id: int | None = None) -> str:
    """`activate "LTV" (id 7)`, a seed's `with 1,200 users`; `ca_id` is the id the apply
    report knows (a create's, once made)."""
    shown = action.id if ca_id is None else ca_id
    where = f" (id {shown})" if shown is not None else ""
    seeding = f" with {users_text(action.users)}" if action.users is not None else ""
    return f"{action.kind.verb} {quoted(action.name)}{where}{seeding}"


def seeds_line(plan: Plan) -> str | None:
    """Where a plan made with `--seeds` takes its seeds from, or None."""
    source = plan.seeds
    if source is None:
        return None
    return (
        f"Seeds from {printable(source.path)} ({source.format}, {users_text(source.users)}, "
        f"sha256 {source.sha256[:12]}…): a CA this plan activates gets its seeds first."
    )


def workspace_words(plan: Plan) -> str:
    """`workspace 333 (environment prod)`, or `workspace 1234` for the unnamed one (escaped:
    `show` reads the environment from a plan file)."""
    named = f" (environment {plan.environment})" if plan.environment else ""
    return printable(f"workspace {plan.workspace_id}{named}")


def gate_lines(promotion: Promotion | None, name: str) -> list[tuple[bool, str]]:
    """(promoted, "promoted from staging ✓" / "not yet active in staging ... ✗") for one CA
    the promotion gate checked; one the source's manifests hold back says where."""
    if promotion is None:
        return []
    return [
        (check.promoted, f"{described(check)} {'✓' if check.promoted else '✗'}")
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
    seeds = seeds_line(plan)
    if seeds is not None:
        yield Text(seeds)
        yield Text("")
    for name, group in groupby(plan.actions, key=lambda action: action.name):
        for action in group:
            style = action.kind.style
            yield Text("  ") + Text(
                f"{action.kind.symbol} {action_title(action)}", style=f"bold {style}"
            )
            for change in action.changes:
                symbol, line = change_line(change)
                yield Text(f"      {symbol} {line}", style=style if symbol != "~" else "")
            for warning in action.warnings:
                yield Text(f"      ⚠ {printable(warning)}", style="yellow")
            if action.values:
                moved = any(diff.changed for diff in action.values)
                line = f"      values (tests): {values_line(action.values)}"
                yield Text(line, style="cyan" if moved else "yellow")
                failing = fails_line(action.values)
                if failing is not None:
                    yield Text(f"      ✗ {failing}", style="red")
                fixing = fixes_line(action.values)
                if fixing is not None:
                    yield Text(f"      ✓ {fixing}", style="green")
        for promoted, line in gate_lines(plan.promotion, name):
            yield Text(f"      {printable(line)}", style="green" if promoted else "red")
        yield Text("")


def text(plan: Plan) -> Iterator[Text]:
    """The plan as lines of (optionally styled) text."""
    yield from _overrides(plan)
    if plan.actions:
        yield from _actions(plan)
    else:
        # In a CI log of dev, staging and prod, "No changes." must say where.
        yield Text(f"Reconciler will perform no actions in {workspace_words(plan)}.")
        yield Text("")
    kept = [note for note in plan.drafts if note.kept]
    if kept:
        yield Text("Drafts kept (made outside Git; `drafts: preserve` never discards them):")
        for note in kept:
            yield Text(f"  = draft kept {quoted(note.name)} (id {note.id})", style="magenta")
        yield Text("")
    if plan.left_alone:
        yield Text("Unmanaged (live, in no manifest; `prune: true` deletes them):")
        for name in plan.left_alone:
            yield Text(f"  ? {quoted(name)}", style="dim")
        yield Text("")
    failing = _failing_line(plan)
    if failing is not None:
        yield failing
    yield Text(summary_line(plan), style="bold")


def text_all(plans: dict[str, Plan]) -> Iterator[Text]:
    """Several environments' plans (`--env all`): one section each, in the order given."""
    for index, (name, plan) in enumerate(plans.items()):
        if index:
            yield Text("")
        yield Text(f"== Environment {name}: workspace {plan.workspace_id} ==", style="bold")
        yield Text("")
        yield from text(plan)


def _refused_json(plan: Plan, refused: Sequence[Violation]) -> dict[str, Any]:
    """The JSON plan, and the rules that refuse it (a refused plan is never saved, so this
    member never reaches a plan file): a script sees which plan was refused, and why."""
    return {**plan.document(), "refused": [v.model_dump(mode="json") for v in refused]}


def _json(document: object) -> str:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


def show(plan: Plan, output: Output, fmt: Format, refused: Sequence[Violation] = ()) -> None:
    """Print the plan on stdout as `plan` does: text, Markdown or the JSON plan (with
    `refused`, the rules that refuse it, when there are any: a member of the JSON plan, an
    alert in Markdown; text prints them on stderr, as the error)."""
    from reconciler.plan import markdown

    if fmt == "json":
        shown = _json(_refused_json(plan, refused)) if refused else plan.to_json().decode()
        output.write_raw(shown)
    elif fmt == "markdown":
        output.write_raw(markdown.markdown(plan, refused=refused))
    else:
        output.print_lines(text(plan))


def show_all(
    plans: dict[str, Plan],
    output: Output,
    fmt: Format,
    refused: Mapping[str, Sequence[Violation]] | None = None,
) -> None:
    """Several environments' plans: one section (or JSON member) each, with `refused` in
    each plan a rule refuses (in Markdown, an alert and the table's `refused` column)."""
    from reconciler.plan import markdown

    if fmt == "json":
        rules = refused or {}
        environments = {
            name: _refused_json(plan, rules[name]) if rules.get(name) else plan.document()
            for name, plan in plans.items()
        }
        output.write_raw(_json({"environments": environments}))
    elif fmt == "markdown":
        output.write_raw(markdown.markdown_all(plans, refused=refused))
    else:
        output.print_lines(text_all(plans))
