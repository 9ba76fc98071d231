"""The JSON plan's format 2 (and reading format 1), ids range-checked on load, and how the
fields of §7–§8 render in text and Markdown."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.console import Output
from reconciler.errors import ReconcilerError
from reconciler.models import LiveDefinition
from reconciler.plan import markdown, render
from reconciler.plan.planner import created
from reconciler.plan.value import (
    Action,
    Change,
    DraftNote,
    GateCheck,
    Plan,
    Promotion,
    Selection,
    Target,
    Violation,
    Written,
    summarize,
)
from tests.support.workspace import SESSIONS, api_definition

#: A definition as the planner writes it (a body must hold one: `plan.integrity`).
DEFINITION = LiveDefinition.read(api_definition(SESSIONS)).canonical
ACTIONS = [
    Action(
        action="create",
        name="LTV",
        changes=created("LTV", "", DEFINITION),
        body={"name": "LTV", "description": "", "draft_definition": dict(DEFINITION)},
    ),
    Action(action="activate", name="LTV"),
    Action(
        action="update",
        name="AOV",
        id=12,
        changes=[Change(path="description", before="", after="Average order value")],
        body={
            "name": "AOV",
            "description": "Average order value",
            "draft_definition": dict(DEFINITION),
        },
    ),
]
V1: dict[str, Any] = {
    "format_version": 1,
    "workspace_id": 1234,
    "summary": {"create": 1, "activate": 1, "update": 1, "unchanged": 2},
    "actions": [a.model_dump(mode="json") for a in ACTIONS],
    "unmanaged": ["Legacy"],
    "live": {"12": "abc"},
}
FULL = Plan(
    environment="prod",
    workspace_id=333,
    target=Target(kind="mparticle", api_url="https://api.mparticle.com", directory="/repo/m"),
    selection=Selection(only=["L*"], exclude=["Legacy"], not_selected=4),
    allowed=["promotion"],
    overridden=[Violation(rule="promotion", message='"AOV" is not yet active in staging')],
    summary=summarize(ACTIONS, 2, 0),
    actions=ACTIONS,
    drafts=[DraftNote(name="Kept", id=9, kept=True)],
    promotion=Promotion(
        source="staging",
        checks=[
            GateCheck(name="LTV", promoted=True, reason="promoted from staging", definition="f"),
            GateCheck(name="AOV", promoted=False, reason="not yet active in staging"),
        ],
    ),
    live={"12": "abc"},
)


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    return path


def test_format_1_is_read_as_format_2_without_its_fields(tmp_path: Path) -> None:
    plan = Plan.load(write(tmp_path, V1))
    assert (plan.format_version, plan.environment, plan.target) == (2, None, None)
    assert plan.actions == ACTIONS
    assert plan.unmanaged == ["Legacy"]
    assert (plan.selection.active, plan.allowed, plan.promotion) == (False, [], None)


def test_format_2_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "saved.json"
    FULL.save(path)
    assert Plan.load(path) == FULL
    assert json.loads(path.read_text())["format_version"] == 2


def test_where_the_source_holds_a_ca_back_round_trips_and_is_absent_elsewhere(
    tmp_path: Path,
) -> None:
    """`held_by` on the gate's check of a CA the source's manifests hold back; the other
    checks (and plans made before it was recorded) have no such key, and read as before."""
    held = GateCheck(
        name="AOV",
        promoted=False,
        reason="not declared in staging",
        held_by=Written(file="m/cas.yaml", line=3, column=5, field="environments"),
    )
    assert FULL.promotion is not None
    gate = Promotion(source="staging", checks=[FULL.promotion.checks[0], held])
    plan = FULL.model_copy(update={"promotion": gate})
    path = tmp_path / "saved.json"
    plan.save(path)
    assert Plan.load(path) == plan
    checks = json.loads(path.read_text())["promotion"]["checks"]
    assert ["held_by" in check for check in checks] == [False, True]
    assert checks[1]["held_by"] == {
        "file": "m/cas.yaml",
        "line": 3,
        "column": 5,
        "field": "environments",
    }
    assert "      not declared in staging at m/cas.yaml:3:5 (environments) ✗\n" in text_of(plan)
    assert "held_by" not in FULL.to_json().decode()


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        (("workspace_id",), 0, "workspace_id: 0 is not an id"),
        (("workspace_id",), 2**63, "workspace_id: 9223372036854775808 is not an id"),
        (("actions", 2, "id"), -5, "actions[2].id: -5 is not an id"),
        (("live",), {"0x1f": "abc"}, "live[\"0x1f\"]: '0x1f' is not an id"),
        (("live",), {str(2**64): "abc"}, "is not an id (a positive 64-bit integer)"),
        (("format_version",), "2", "(format_version 1 or 2): format_version"),
    ],
)
def test_ids_read_from_a_plan_file_are_range_checked(
    tmp_path: Path, where: tuple[Any, ...], value: Any, message: str
) -> None:
    document = json.loads(json.dumps(V1))
    target = document
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    with pytest.raises(ReconcilerError, match="is not a reconciler plan") as caught:
        Plan.load(write(tmp_path, document))
    assert message in caught.value.message
    v2 = {**document, "format_version": 2} if where != ("format_version",) else document
    with pytest.raises(ReconcilerError, match="is not a reconciler plan"):
        Plan.load(write(tmp_path, v2))


def test_a_plan_of_a_newer_format_is_refused_as_a_newer_version_s(tmp_path: Path) -> None:
    """A plan `plan --out` of a newer reconciler writes (format 3) was refused as "not a
    reconciler plan (format_version 1 or 2): format_version: Input should be 2", as if the
    file were damaged; the laptop that made it runs a newer version than CI."""
    document = {**FULL.document(), "format_version": 3}
    with pytest.raises(ReconcilerError) as caught:
        Plan.load(write(tmp_path, document))
    assert caught.value.message == (
        f"{tmp_path / 'plan.json'} was written in plan format 3 by a newer reconciler, and "
        "this one reads formats 1 and 2: show and apply it with the version that made it, or "
        "make a new plan with this one"
    )


@pytest.mark.parametrize(("version", "read_as"), [("true", None), ("3.0", 3), ("2.0", 2)])
def test_a_format_version_is_a_number_not_a_boolean(
    tmp_path: Path, version: str, read_as: int | None
) -> None:
    """`"format_version": true` was read as format 1 (Python's True == 1) and refused as
    "(format_version True): environment: Extra inputs are not permitted"; `3.0` as damage,
    not as a newer format. JSON's 2.0 is 2."""
    text = FULL.to_json().replace(b'"format_version": 2', b'"format_version": ' + version.encode())
    path = tmp_path / "plan.json"
    path.write_bytes(text)
    if read_as == 2:
        assert Plan.load(path) == FULL
        return
    with pytest.raises(ReconcilerError) as caught:
        Plan.load(path)
    if read_as is None:
        assert caught.value.message == (
            f"{path} is not a reconciler plan (format_version 1 or 2): format_version: "
            "Input should be 1 or 2"
        )
    else:
        assert f"was written in plan format {read_as} by a newer reconciler" in caught.value.message


@pytest.mark.parametrize("field", ["directory", "database"])
def test_a_path_with_a_nul_in_a_plan_file_is_damage(tmp_path: Path, field: str) -> None:
    """`apply --plan` of a plan whose directory held a NUL ended in "unexpected ValueError:
    embedded null byte ... This is a bug" (exit 3)."""
    document = FULL.document()
    document["target"][field] = "/repo/m\u0000x"
    with pytest.raises(ReconcilerError) as caught:
        Plan.load(write(tmp_path, document))
    assert caught.value.message == (
        f"{tmp_path / 'plan.json'} is not a reconciler plan (format_version 2): "
        f"target.{field}: a path cannot hold a NUL character"
    )


def test_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text("{")
    with pytest.raises(ReconcilerError, match="not JSON"):
        Plan.load(tmp_path / "plan.json")


def text_of(plan: Plan) -> str:
    buffer = io.StringIO()
    output = Output(no_color=True, stdout=buffer, stderr=io.StringIO())
    for line in render.text(plan):
        output.print(line)
    return buffer.getvalue()


def test_text_names_the_environment_the_gate_the_overrides_and_the_selection() -> None:
    text = text_of(FULL)
    assert text.startswith(
        "Safety rules overridden (--allow promotion):\n"
        '  ⚠ [promotion] "AOV" is not yet active in staging\n'
    )
    assert "perform these actions in workspace 333 (environment prod):" in text
    assert "      promoted from staging ✓\n" in text
    assert "      not yet active in staging ✗\n" in text
    assert '  = draft kept "Kept" (id 9)' in text
    assert text.rstrip().endswith("2 unchanged, 0 unmanaged. 4 not selected.")


def test_markdown_shows_every_override_before_anything_else() -> None:
    comment = markdown.markdown(FULL)
    head = comment.split("| create |")[0]
    assert head == (
        "### reconciler plan for workspace 333 (environment prod)\n\n"
        "> [!CAUTION]\n"
        "> **Safety rules overridden for this plan:** `--allow promotion`\n"
        '> - **promotion**: "AOV" is not yet active in staging\n\n'
    )
    assert "| not selected |" in comment
    assert "promoted from staging ✓" in comment
    assert "! gate: not yet active in staging ✗" in comment
    assert "1 draft kept (made outside Git; drafts: preserve)" in comment
    quiet = FULL.model_copy(update={"overridden": []})
    assert "> [!NOTE]\n> Safety rules allowed (none was needed): `promotion`" in markdown.markdown(
        quiet
    )


def test_many_environments_stay_below_the_comment_limit() -> None:
    # Each environment got at least 2,000 characters whatever their number, so 40 large
    # environments made a 62,231-character comment (the limit is 60,000).
    actions = [
        Action(action="create", name=f"CA {n:03d}", changes=[Change(path="x", after="y" * 60)])
        for n in range(60)
    ]
    big = FULL.model_copy(update={"actions": actions, "overridden": []})
    plans = {f"env{n:02d}": big for n in range(40)}
    comment = markdown.markdown_all(plans)
    assert len(comment) < markdown.MARKDOWN_LIMIT
    assert comment == markdown.markdown_all(plans)
    assert "| env39 | 333 |" in comment  # every environment is in the table
    shown = comment.count("### reconciler plan for workspace 333")
    assert 0 < shown < 40
    rest = 40 - shown
    assert f"_… {rest} more environments not shown (comment size limit)" in comment


def test_several_environments_render_as_sections() -> None:
    dev = FULL.model_copy(update={"environment": "dev", "workspace_id": 111, "overridden": []})
    plans = {"dev": dev, "prod": FULL}
    comment = markdown.markdown_all(plans)
    assert comment.startswith("## reconciler plan for 2 environments\n")
    assert "| dev | 111 | 1 | 1 | 0 | 1 | 0 | 2 | 0 |  |" in comment
    assert "| prod | 333 | 1 | 1 | 0 | 1 | 0 | 2 | 0 | 1 |" in comment
    assert comment.index("### reconciler plan for workspace 111 (environment dev)") < (
        comment.index("### reconciler plan for workspace 333 (environment prod)")
    )
    buffer = io.StringIO()
    output = Output(no_color=True, stdout=buffer, stderr=io.StringIO())
    for line in render.text_all(plans):
        output.print(line)
    text = buffer.getvalue()
    assert text.startswith("== Environment dev: workspace 111 ==\n")
    assert "\n== Environment prod: workspace 333 ==\n" in text


def test_a_refused_plan_printed_on_stdout_is_named_as_refused(tmp_path: Path) -> None:
    """`plan --format json > plan.json` of a plan a safety rule refuses holds `refused`;
    `apply --plan plan.json` said "is not a reconciler plan (format_version 2): refused:
    Extra inputs are not permitted", as if the file were damaged."""
    refused = [{"rule": "activations", "message": "the plan activates 12 CAs"}]
    path = write(tmp_path, {**FULL.document(), "refused": refused})
    with pytest.raises(ReconcilerError) as caught:
        Plan.load(path)
    assert caught.value.message == (
        f"{path} is a plan safety rules refused (activations), as a refused `plan --format "
        "json` prints it (its `refused` member), and a refused plan is never applied: make "
        "the plan again with `plan --out FILE`, passing --allow for each rule you mean to "
        "override"
    )


def test_a_refused_plan_says_so_in_its_markdown_comment() -> None:
    """`plan --format markdown > comment.md` of a plan a safety rule refuses: the JSON plan
    says `refused`, but the comment read like any plan, so a reviewer of prod's section saw
    changes that were never going to be applied (the refusal was only on stderr)."""
    gate = [Violation(rule="promotion", message='"AOV" is not yet active in staging')]
    one = io.StringIO()
    render.show(FULL, Output(no_color=True, stdout=one, stderr=io.StringIO()), "markdown", gate)
    alert = (
        "> [!CAUTION]\n"
        "> **Refused: this plan will not be applied** (nothing is saved or sent). Pass "
        "`--allow promotion` if that is intended.\n"
        '> - **promotion**: "AOV" is not yet active in staging\n'
    )
    comment = one.getvalue()
    assert comment.startswith(
        "### reconciler plan for workspace 333 (environment prod)\n\n" + alert
    )
    assert "Refused" not in markdown.markdown(FULL)  # a plan no rule refuses says nothing
    dev = FULL.model_copy(update={"environment": "dev", "workspace_id": 111, "overridden": []})
    every = io.StringIO()
    output = Output(no_color=True, stdout=every, stderr=io.StringIO())
    render.show_all({"dev": dev, "prod": FULL}, output, "markdown", {"dev": [], "prod": gate})
    comment = every.getvalue()
    assert "| overridden | refused |" in comment
    assert "| dev | 111 | 1 | 1 | 0 | 1 | 0 | 2 | 0 |  |  |" in comment
    assert "| prod | 333 | 1 | 1 | 0 | 1 | 0 | 2 | 0 | 1 | `promotion` |" in comment
    assert comment.count("[!CAUTION]\n> **Refused") == 1
    assert alert in comment.split("(environment prod)")[1]
