"""A saved plan shows what it sends: each action's `changes` (what `show`, the text plan and
the PR comment display) recomputed from its `body` (what `apply` sends), pure, no I/O.

A plan file is data anyone may have edited between `plan --out` and `apply --plan`. What
needs no workspace is checked by `offline` (`show` and `apply`): the summary's counts,
every body's shape (a create or update sends exactly a name, a description and a
definition in canonical form; the other kinds send none), the changes of a create, the
new name or description an update shows, and that a delete or an activation after a
write shows none. What needs the CAs as they are
is checked by `against_live` (`apply`, on the list it re-reads for staleness): an update's,
activation's or draft discard's changes against the live CA, and that every action by id
names the CA of that id. Any difference is refused, naming the CA and the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from reconciler.errors import ReconcilerError, first_few, printable, quoted
from reconciler.models import LiveCA, LiveDefinition
from reconciler.models.canonical import CanonicalDefinition
from reconciler.plan.changes import ca_changes
from reconciler.plan.planner import created, document
from reconciler.plan.value import ACTION_KINDS, Action, Change, Plan, summarize

#: What a create or update sends (PUT needs the full draft too), and a seed action names.
WRITE_BODY = frozenset({"name", "description", "draft_definition"})
SEED_BODY = frozenset({"calculation_type", "cutoff_date"})


class TamperedPlan(ReconcilerError):
    """The saved plan's bodies do not say what its changes show (an edited plan file)."""


def refusal(problems: list[str], *, applying: bool = True) -> TamperedPlan:
    """The refusal naming the first problems (`applying`: it says nothing was sent)."""
    shown = first_few(problems, "; ", "; ")
    sent = " Nothing was sent." if applying else ""
    return TamperedPlan(
        f"the saved plan does not send what it shows: {shown}.{sent} The plan file was "
        "edited after `plan --out` (or made by another version of reconciler): make a new "
        "plan."
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _label(action: Action) -> str:
    where = f", id {action.id}" if action.id is not None else ""
    return f"{quoted(action.name)} ({action.action}{where})"


def _canonical(raw: Any) -> CanonicalDefinition | None:
    """`raw` when it is a definition in exactly its canonical form (what the planner
    writes), else None."""
    try:
        canonical = LiveDefinition.read(raw).canonical
    except (ValidationError, ValueError, TypeError):
        return None
    return canonical if _json(canonical) == _json(raw) else None


def _body_problem(action: Action) -> str | None:
    """What is wrong with the shape of the action's body, if anything."""
    body = action.body
    if action.action == "seed":
        return None if body.keys() == SEED_BODY else "its body is not a seed action's"
    if action.action not in ("create", "update"):
        return None if not body else "its body is not empty (this kind sends none)"
    if body.keys() != WRITE_BODY:
        return "its body must hold exactly name, description and draft_definition"
    if not isinstance(body["description"], str):
        return "its body's description is not text"
    if body["name"] != action.name:
        return f"name: shown as {_value(action.name)}, but {_value(body['name'])} is sent"
    if _canonical(body["draft_definition"]) is None:
        return "its body's draft_definition is not a definition as the planner writes it"
    return None


def _value(value: Any) -> str:
    return printable(_json(value))


def differences(shown: list[Change], sent: list[Change]) -> list[str]:
    """Each field whose displayed change is not the one the body makes, by path."""
    displayed = {change.path: change for change in shown}
    made = {change.path: change for change in sent}
    found = []
    for key in sorted(displayed.keys() | made.keys()):
        was, real, path = displayed.get(key), made.get(key), printable(key)
        if real is None:
            found.append(f"{path}: shown as changed, but what is sent leaves it as it is")
        elif was is None:
            found.append(f"{path}: {_value(real.after)} is sent, which is not shown")
        elif _json(was.after) != _json(real.after):
            found.append(f"{path}: shown as {_value(was.after)}, but {_value(real.after)} is sent")
        elif _json(was.before) != _json(real.before):
            holds = _value(real.before)
            found.append(
                f"{path}: shown from {_value(was.before)}, but the workspace holds {holds}"
            )
    if not found and len(shown) != len(sent):
        found.append("its changes are listed out of order or twice")
    return found


def _same(shown: list[Change], sent: list[Change]) -> bool:
    return _json([c.model_dump(mode="json") for c in shown]) == _json(
        [c.model_dump(mode="json") for c in sent]
    )


def _changes_problems(action: Action, expected: list[list[Change]]) -> list[str]:
    """The action's changes must be one of `expected` (an update's "before" may read two
    ways); else the differences from the first."""
    if any(_same(action.changes, candidate) for candidate in expected):
        return []
    return [f"{_label(action)}: {d}" for d in differences(action.changes, expected[0])]


def offline(plan: Plan) -> list[str]:
    """What is wrong with the plan that the file alone shows (empty: nothing)."""
    found: list[str] = []
    counts = summarize(plan.actions, 0, 0)
    for kind in ACTION_KINDS:
        if plan.summary.of(kind) != counts.of(kind):
            found.append(
                f"its summary counts {plan.summary.of(kind)} {kind} action(s), its actions "
                f"hold {counts.of(kind)}"
            )
    seen: set[tuple[str, int | None]] = set()
    for action in plan.actions:
        problem = _body_problem(action)
        if problem is not None:
            found.append(f"{_label(action)}: {problem}")
            continue
        key = (action.name, action.id)
        if action.action == "create":
            if action.id is not None:
                found.append(f"{_label(action)}: a create has no id")
                continue
            body = action.body
            definition = _canonical(body["draft_definition"])
            assert definition is not None  # _body_problem checked it
            wanted = created(body["name"], body["description"], definition)
            found += _changes_problems(action, [wanted])
        elif action.action == "update":
            found += [
                f"{_label(action)}: {change.path}: shown as {_value(change.after)}, but "
                f"{_value(action.body[change.path])} is sent"
                for change in action.changes
                if change.path in ("name", "description")
                and _json(change.after) != _json(action.body[change.path])
            ]
        elif action.action in ("delete", "seed") or (action.action == "activate" and key in seen):
            found += _changes_problems(action, [[]])
        if action.action in ("create", "update"):
            seen.add(key)
    return found


def against_live(plan: Plan, live: Sequence[LiveCA]) -> list[str]:
    """What is wrong with the plan's actions on existing CAs, against the CAs as they are
    (the list `apply` re-reads; an id it lacks is the staleness check's to refuse)."""
    by_id = {ca.id: ca for ca in live}
    activated = {a.id for a in plan.actions if a.action == "activate"}
    #: The name of each CA the plan updated so far (the activation after shows nothing).
    renamed: dict[int, str] = {}
    found: list[str] = []
    for action in plan.actions:
        current = by_id.get(action.id) if action.id is not None else None
        if current is None or _body_problem(action) is not None:
            continue
        if action.action == "update":
            found += _changes_problems(action, _update_changes(action, current, activated))
            renamed[current.id] = action.name
            continue
        name = renamed.get(current.id, current.name)
        if action.name != name:
            found.append(
                f"{_label(action)}: id {current.id} is {_value(name)} in the workspace, not the "
                "CA the plan names"
            )
            continue
        if action.action == "activate" and current.id not in renamed:  # none after a write
            before = current.active if current.active is not None else current.draft
            after = current.draft if current.draft is not None else current.active
            found += _changes_problems(action, [_between(current, before, after)])
        elif action.action == "discard_draft":
            found += _changes_problems(action, [_between(current, current.draft, current.active)])
    return found


def _between(
    ca: LiveCA, before: CanonicalDefinition | None, after: CanonicalDefinition | None
) -> list[Change]:
    text = ca.description_text
    return ca_changes(document(ca.name, text, before), document(ca.name, text, after))


def _update_changes(action: Action, ca: LiveCA, activated: set[int | None]) -> list[list[Change]]:
    """What an update may show: its body against what the CA holds. The planner shows the
    definition in use when the CA is to be active (an activation follows), else the draft
    when there is one: without an activation, either reading is the CA as it is."""
    body = action.body
    desired = _canonical(body["draft_definition"])
    after = document(body["name"], body["description"], desired)
    in_use = ca.active if ca.active is not None else ca.draft
    drafted = ca.draft if ca.draft is not None else ca.active
    readings = [in_use] if ca.id in activated else [in_use, drafted]
    return [
        ca_changes(document(ca.name, ca.description_text, reading), after) for reading in readings
    ]
