"""Rendering a Plan as a PR comment: a summary table, one collapsible section per CA, every
safety override shown as an alert; truncated deterministically below GitHub's comment limit
(a CA's section too large for its share is cut inside, `plan.sections`; the others are
kept whole while they fit, and a note names those that do not).
Several environments (`plan --env all`) render as one section per environment. Text from
the workspace (live names, messages) is written as `plan.gfm` writes it: escaped for a
terminal (`errors.printable`: a reviewer may read the comment's source), for Markdown and
HTML, and every word GitHub would make a mention or a link put in code."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import groupby

from reconciler.errors import NAMED_AT_MOST, quoted
from reconciler.plan import gfm
from reconciler.plan.gfm import MARKDOWN_LIMIT
from reconciler.plan.render import counted_kinds, seeds_line, summary_line, workspace_words
from reconciler.plan.sections import ca_section
from reconciler.plan.value import KINDS, Plan, Violation
from reconciler.plan.values_text import failing_tests, failing_users

__all__ = ["ALERT_ROWS", "LIST_ROWS", "MARKDOWN_LIMIT", "SECTION_SHARE", "markdown", "markdown_all"]

#: How many reasons an alert lists (the refused or overridden safety rules, one per CA for
#: some): at most this many, and no more than an eighth of the comment's size.
ALERT_ROWS = 20
#: How many names the lists of kept drafts and unmanaged CAs show.
LIST_ROWS = 100
#: A comment that would reach its limit cuts each CA section of this part of the limit (a
#: quarter) or more to the room the other sections leave, or to that part where they leave
#: less: one CA of thousands of changes does not take the sections after it with it.
SECTION_SHARE = 4


def _rules(violations: Sequence[Violation]) -> str:
    """`--allow delete` for each rule, in code (a plan file's rule names are its own)."""
    return " ".join(gfm.code(f"--allow {r}") for r in dict.fromkeys(v.rule for v in violations))


def _reasons(violations: Sequence[Violation], limit: int) -> list[str]:
    """An alert's list of reasons: the first ALERT_ROWS, fewer where they would take more
    than an eighth of `limit` (a refused prune of 1,000 CAs has 1,000), and how many more."""
    lines: list[str] = []
    size = 0
    for violation in violations[:ALERT_ROWS]:
        line = f"> - **{gfm.inline(violation.rule)}**: {gfm.inline(violation.message)}"
        size += len(line) + 1
        if lines and size > limit // 8:
            break
        lines.append(line)
    if len(lines) < len(violations):
        rest = len(violations) - len(lines)
        lines.append(f"> - … and {rest} more: the JSON plan (`--format json`) lists every one")
    return lines


def _refused_block(refused: Sequence[Violation], limit: int) -> list[str]:
    """The safety rules that refuse the plan, first: the comment of a refused plan must not
    read as a plan that merging applies (`plan` exits 1 and saves nothing)."""
    if not refused:
        return []
    lines = [
        "> [!CAUTION]",
        "> **Refused: this plan will not be applied** (nothing is saved or sent). Pass "
        f"{_rules(refused)} if that is intended.",
    ]
    return [*lines, *_reasons(refused, limit), ""]


def _overridden_block(plan: Plan, limit: int) -> list[str]:
    """What the allowed safety rules let through, as a GitHub alert a reviewer cannot miss."""
    if plan.overridden:
        rules = _rules(plan.overridden)
        lines = ["> [!CAUTION]", f"> **Safety rules overridden for this plan:** {rules}"]
        return [*lines, *_reasons(plan.overridden, limit), ""]
    if plan.allowed:
        allowed = ", ".join(gfm.code(rule) for rule in plan.allowed)
        return ["> [!NOTE]", f"> Safety rules allowed (none was needed): {allowed}", ""]
    return []


def _failing_block(plan: Plan) -> list[str]:
    """The test users whose "after" values fail their tests, as an alert at the top: the
    sections are closed, and a reviewer must see that the change breaks a test."""
    count, names = failing_tests(plan)
    if not count:
        return []
    cas = ", ".join(gfm.name(name) for name in names[:NAMED_AT_MOST])
    if len(names) > NAMED_AT_MOST:
        cas += f" and {len(names) - NAMED_AT_MOST} more"
    return [
        "> [!WARNING]",
        f"> **{failing_users(count)}** (of {cas}): `reconciler test` fails. Each CA's table "
        "says what was expected.",
        "",
    ]


def _table(plan: Plan) -> list[str]:
    s = plan.summary
    kinds = counted_kinds(s)
    columns = [KINDS[kind].verb for kind in kinds] + ["unchanged", "unmanaged"]
    counts = [s.of(kind) for kind in kinds] + [s.unchanged, s.unmanaged]
    if plan.selection.active:
        columns.append("not selected")
        counts.append(plan.selection.not_selected)
    return [
        "| " + " | ".join(columns) + " |",
        "|" + "---:|" * len(columns),
        "| " + " | ".join(map(str, counts)) + " |",
    ]


@dataclass(frozen=True)
class _Section:
    """One collapsible section: a CA's (`name`), or a list's (`what`, as the note of a cut
    comment names it)."""

    text: str
    name: str | None = None
    what: str | None = None
    #: A CA's section cut to below so many characters (None where not even its actions
    #: and warnings fit); the lists are not cut, they show their first LIST_ROWS names.
    cut: Callable[[int], str | None] | None = None


def _shortened(section: _Section, size: int) -> _Section:
    """`section`, or where it takes `size` characters or more, a CA's cut below `size`."""
    if len(section.text) < size or section.cut is None:
        return section
    text = section.cut(size)
    return section if text is None else replace(section, text=text)


def _cut_large(head: str, sections: list[_Section], limit: int) -> list[_Section]:
    """The sections, each CA's that takes a `SECTION_SHARE` of `limit` or more cut to share
    the room the others leave (that part of `limit` each at the least): one CA of thousands
    of changes took every section after it out of the comment."""
    share = limit // SECTION_SHARE
    large = {i for i, s in enumerate(sections) if len(s.text) >= share and s.cut is not None}
    others = sum(len(section.text) for i, section in enumerate(sections) if i not in large)
    size = max(share, (limit - len(head) - others) // max(1, len(large)))
    return [_shortened(s, size) if i in large else s for i, s in enumerate(sections)]


def _listed(items: list[str]) -> str:
    """A section's list: the first LIST_ROWS items, and how many more."""
    lines = [f"- {item}" for item in items[:LIST_ROWS]]
    if len(items) > LIST_ROWS:
        more = len(items) - LIST_ROWS
        lines.append(f"- … and {more} more: the JSON plan (`--format json`) lists every one")
    return "\n".join(lines)


def _extra_sections(plan: Plan) -> list[_Section]:
    sections: list[_Section] = []
    kept = [note for note in plan.drafts if note.kept]
    if kept:
        names = _listed([f"{gfm.name(n.name)} {gfm.inline(f'(id {n.id})')}" for n in kept])
        text = (
            f"<details><summary>{len(kept)} draft{'s' if len(kept) != 1 else ''} kept (made "
            f"outside Git; drafts: preserve)</summary>\n\n{names}\n\n</details>\n"
        )
        sections.append(_Section(text, what="the kept drafts"))
    if plan.left_alone:
        names = _listed([gfm.name(name) for name in plan.left_alone])
        text = (
            f"<details><summary>{len(plan.left_alone)} unmanaged (live, in no manifest)</summary>"
            f"\n\n{names}\n\n</details>\n"
        )
        sections.append(_Section(text, what="the unmanaged CAs"))
    return sections


def _cut_note(sections: list[_Section], index: int, cas: int) -> str:
    """What a comment cut before `sections[index]` says: which CAs and lists it does not
    show, and where they are. The CA sections (`cas` of them) come first."""
    parts = [s.what for s in sections[max(index, cas) :] if s.what is not None]
    if index < cas:
        first = gfm.code(quoted(sections[index].name))
        left = cas - index
        parts.insert(0, f"{left} more CAs, from {first} on" if left > 1 else f"1 more CA, {first}")
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return (
        f"\n_… Not shown (comment size limit): {listed}. The JSON plan (`--format json`) has "
        "every one._\n"
    )


def _fitted(head: str, sections: list[_Section], limit: int) -> str:
    """`head`, then the sections in order while the comment stays below `limit` characters
    (GitHub counts characters), with a note of those that do not fit."""
    whole = head + "".join(section.text for section in sections)
    if len(whole) < limit:
        return whole
    sections = _cut_large(head, sections, limit)
    whole = head + "".join(section.text for section in sections)
    if len(whole) < limit:
        return whole
    cas = sum(section.name is not None for section in sections)
    out = head
    for index, section in enumerate(sections):
        # Room for this section and for the note of a cut after it (one will be needed).
        later = _cut_note(sections, index + 1, cas) if index + 1 < len(sections) else ""
        if len(out) + len(section.text) + len(later) >= limit:
            return out + _cut_note(sections, index, cas)
        out += section.text
    return out


def markdown(plan: Plan, limit: int = MARKDOWN_LIMIT, refused: Sequence[Violation] = ()) -> str:
    """A PR comment: summary table, one collapsible section per CA, under `limit` characters;
    `refused`: the safety rules that refuse the plan, if any."""
    head = [
        f"### reconciler plan for {gfm.inline(workspace_words(plan))}",
        "",
        *_refused_block(refused, limit),
        *_overridden_block(plan, limit),
        *_failing_block(plan),
        *_table(plan),
        "",
        f"**{html.escape(summary_line(plan))}**",
        "",
    ]
    seeds = seeds_line(plan)
    if seeds is not None:
        head += [gfm.inline(seeds), ""]
    cas = [
        (name, ca_section(name, list(group), plan.promotion))
        for name, group in groupby(plan.actions, key=lambda a: a.name)
    ]
    sections = [_Section(ca.text(), name=name, cut=ca.within) for name, ca in cas]
    sections += _extra_sections(plan)
    return _fitted("\n".join(head) + "\n", sections, limit)


def markdown_all(
    plans: dict[str, Plan],
    limit: int = MARKDOWN_LIMIT,
    refused: Mapping[str, Sequence[Violation]] | None = None,
) -> str:
    """One PR comment for several environments: a table of them, then each one's plan in
    its own section (each truncated to its share of `limit`); `refused`: per environment,
    the safety rules that refuse its plan."""
    rules = refused or {}
    kinds = counted_kinds(*(plan.summary for plan in plans.values()))
    columns = ["environment", "workspace", *(KINDS[kind].verb for kind in kinds)]
    columns += ["unchanged", "unmanaged", "overridden", "refused"]
    rows = [
        "| "
        + " | ".join(
            [
                gfm.inline(name),
                gfm.inline(str(plan.workspace_id)),
                *(str(plan.summary.of(kind)) for kind in kinds),
                str(plan.summary.unchanged),
                str(plan.summary.unmanaged),
                str(len(plan.overridden) or ""),
                " ".join(
                    gfm.code(r, table=True)
                    for r in dict.fromkeys(v.rule for v in rules.get(name, ()))
                ),
            ]
        )
        + " |"
        for name, plan in plans.items()
    ]
    head = [
        f"## reconciler plan for {len(plans)} environment{'s' if len(plans) != 1 else ''}",
        "",
        "| " + " | ".join(columns) + " |",
        "|---|" + "---:|" * (len(columns) - 2) + "---|",
        *rows,
        "",
    ]
    out = "\n".join(head) + "\n"
    share = max(2_000, (limit - len(out)) // max(1, len(plans)) - 100)
    reserve = 200
    for index, (name, plan) in enumerate(plans.items()):
        section = "\n" + markdown(plan, limit=share, refused=rules.get(name, ()))
        if len(out) + len(section) + reserve > limit:
            # Too many environments for each to get its share: the rest are in the table.
            rest = len(plans) - index
            out += (
                f"\n_… {rest} more environment{'s' if rest != 1 else ''} not shown (comment "
                "size limit): their counts are in the table above, and `plan --env all --out "
                "DIR` saves every plan._\n"
            )
            break
        out += section
    return out
