"""A saved plan sends what it shows (`plan.integrity`): `apply --plan` refuses a plan file
whose bodies (what is sent) do not say what its changes (what `show`, the text plan and
the PR comment display) show, naming the CA and the field, and sends nothing; `show`
refuses what the file alone tells. An honest plan still applies and converges."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_plan import writes
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import PURCHASES, SESSIONS, RawApi, ca, env_for, write_manifests

#: The condition of PURCHASES as the refusal quotes it, its value left out.
CONDITION = (
    '{{"attribute_name": "Checkout Step", "max_value": null, "min_value": null, '
    '"operator": "equals", "type": "number", "value": {}, "values": null}}'
)
WEEK = {"type": "within", "within": 7, "within_unit": "days"}
WEEK_SESSIONS = {**SESSIONS, "time_period": WEEK}
Edit = Callable[[dict[str, Any]], None]


def cli(*args: str | Path, env: dict[str, str]) -> Result:
    result = run_cli(*args, env=env)
    assert "Traceback" not in result.output
    return result


def said(result: Result) -> str:
    return " ".join(result.stderr.split())


def action(plan: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        a for a in plan["actions"] if a["action"] == kind and a["name"] == name
    )
    return found


@pytest.fixture
def saved(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> tuple[Path, Path]:
    """A workspace with "Kept" (active), "Other" (active) and "Old" (unmanaged), and the
    saved plan that updates Kept's description and definition, creates and activates
    "New", and deletes "Old" (prune, allowed where the settings allow no deletes)."""
    for name in ("Kept", "Other", "Old"):
        raw.activate(raw.create(name, SESSIONS, description="as it was"))
    directory = write_manifests(
        tmp_path / "m",
        [
            ca("Kept", PURCHASES, description="as reviewed"),
            ca("Other", SESSIONS, description="as it was"),
            ca("New", SESSIONS, description="brand new"),
        ],
        {"prune": True, "safety": {"allow_delete": False}},
    )
    plan = tmp_path / "plan.json"
    made = cli("plan", directory, "--out", plan, "--allow", "delete", env=env_for(emulator.url))
    assert made.exit_code == 0, made.output
    return directory, plan


def _kept(document: dict[str, Any]) -> dict[str, Any]:
    return action(document, "update", "Kept")


def _new(document: dict[str, Any]) -> dict[str, Any]:
    return action(document, "create", "New")


def update_description(document: dict[str, Any]) -> None:
    _kept(document)["body"]["description"] = "SHOWN NOWHERE"


def update_definition(document: dict[str, Any]) -> None:
    _kept(document)["body"]["draft_definition"]["conditions"][0]["value"] = "23"


def update_hidden(document: dict[str, Any]) -> None:
    _kept(document)["changes"] = [
        c for c in _kept(document)["changes"] if c["path"] != "description"
    ]


def update_unplanned(document: dict[str, Any]) -> None:
    _kept(document)["body"]["draft_definition"]["datapoint"]["use_product_quantity"] = True


def update_shown_from(document: dict[str, Any]) -> None:
    _kept(document)["changes"] = [
        {**c, "before": "empty"} if c["path"] == "description" else c
        for c in _kept(document)["changes"]
    ]


def create_definition(document: dict[str, Any]) -> None:
    _new(document)["body"]["draft_definition"]["calculation_type"] = "max"


def create_name(document: dict[str, Any]) -> None:
    _new(document)["body"]["name"] = "Elsewhere"


def activation_elsewhere(document: dict[str, Any]) -> None:
    action(document, "activate", "New")["id"] = _kept(document)["id"]


def activation_first(document: dict[str, Any]) -> None:
    """Kept's activation moved before its update: it activates the draft as it is now."""
    actions = document["actions"]
    update = actions.index(_kept(document))
    activation = action(document, "activate", "Kept")
    actions.remove(activation)
    actions.insert(update, {**activation, "changes": _kept(document)["changes"]})


def delete_elsewhere(document: dict[str, Any]) -> None:
    action(document, "delete", "Old")["id"] = _kept(document)["id"]


def delete_uncounted(document: dict[str, Any]) -> None:
    document["summary"]["delete"] = 0


#: Each edit, what `apply --plan` says of it, and whether `show` can tell from the file.
TAMPERED: dict[str, tuple[Edit, str, bool]] = {
    "description of an update": (
        update_description,
        '"Kept" (update, id 1): description: shown as "as reviewed", but "SHOWN NOWHERE" is sent',
        True,
    ),
    "definition of an update": (
        update_definition,
        '"Kept" (update, id 1): definition.conditions["Checkout Step"]: shown as '
        + CONDITION.format(22)
        + ", but "
        + CONDITION.format(23)
        + " is sent",
        False,
    ),
    "description of an update, not shown": (
        update_hidden,
        '"Kept" (update, id 1): description: "as reviewed" is sent, which is not shown',
        False,
    ),
    "definition not as the planner writes it": (
        update_unplanned,
        '"Kept" (update, id 1): its body\'s draft_definition is not a definition as the planner '
        "writes it",
        True,
    ),
    "what an update is shown to change from": (
        update_shown_from,
        '"Kept" (update, id 1): description: shown from "empty", but the workspace holds '
        '"as it was"',
        False,
    ),
    "definition of a create, not shown": (
        create_definition,
        '"New" (create): definition.calculation_type: shown as "count", but "max" is sent',
        True,
    ),
    "name of a create": (
        create_name,
        '"New" (create): name: shown as "New", but "Elsewhere" is sent',
        True,
    ),
    "activation sent to another CA": (
        activation_elsewhere,
        '"New" (activate, id 1): id 1 is "Kept" in the workspace, not the CA the plan names',
        False,
    ),
    "activation before the update": (
        activation_first,
        '"Kept" (activate, id 1): definition.calculation_type: shown as changed, but what is '
        "sent leaves it as it is",
        False,
    ),
    "delete sent to another CA": (
        delete_elsewhere,
        '"Old" (delete, id 1): id 1 is "Kept" in the workspace, not the CA the plan names',
        False,
    ),
    "delete left out of the summary": (
        delete_uncounted,
        "its summary counts 0 delete action(s), its actions hold 1",
        True,
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_apply_refuses_a_plan_whose_bodies_are_not_what_it_shows(
    tmp_path: Path,
    emulator: EmulatorServer,
    raw: RawApi,
    saved: tuple[Path, Path],
    case: str,
) -> None:
    directory, plan = saved
    edit, message, offline = TAMPERED[case]
    document = json.loads(plan.read_text())
    edit(document)
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    before = raw.list()
    sent = writes(emulator.stats())
    env = env_for(emulator.url)
    refused = cli("apply", "--plan", tampered, directory, env=env)
    assert refused.exit_code == 1, refused.output
    assert message in said(refused)
    assert "Nothing was sent" in said(refused)
    assert writes(emulator.stats()) == sent
    assert raw.list() == before
    shown = cli("show", tampered, env=env)
    if offline:
        assert shown.exit_code == 1
        assert message in said(shown)
        assert shown.stdout == ""
    else:  # only the live CA tells: apply refuses it
        assert shown.exit_code == 0, shown.output


def test_an_honest_saved_plan_applies_and_converges(
    emulator: EmulatorServer, saved: tuple[Path, Path]
) -> None:
    directory, plan = saved
    env = env_for(emulator.url)
    assert cli("show", plan, env=env).exit_code == 0
    applied = cli("apply", "--plan", plan, directory, env=env)
    assert applied.exit_code == 0, applied.output
    assert cli("plan", directory, "--detailed-exitcode", env=env).exit_code == 0


def test_every_kind_of_step_on_live_cas_passes_the_check(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """The changes the planner shows for a draft discard, an activation of a staged draft,
    an update kept as a draft and a rename are those the check recomputes."""
    stray = raw.create("Stray", SESSIONS)
    raw.activate(stray)
    raw.update(stray, "Stray", PURCHASES)
    staged = raw.create("Staged", SESSIONS)
    raw.activate(staged)
    raw.update(staged, "Staged", PURCHASES)
    drafted = raw.create("Drafted", SESSIONS)
    raw.activate(drafted)
    raw.update(drafted, "Drafted", {**SESSIONS, "calculation_type": "max"})
    raw.create("Unnamed", SESSIONS, description="never activated")
    directory = write_manifests(
        tmp_path / "m",
        [
            ca("Stray", SESSIONS),
            ca("Staged", PURCHASES),
            ca("Drafted", {**SESSIONS, "time_period": WEEK}, active=False),
            ca("Renamed", SESSIONS, renamed_from="Unnamed", active=False),
        ],
    )
    plan = tmp_path / "plan.json"
    env = env_for(emulator.url)
    assert cli("plan", directory, "--out", plan, env=env).exit_code == 0
    kinds = sorted((a["action"], a["name"]) for a in json.loads(plan.read_text())["actions"])
    assert kinds == [
        ("activate", "Staged"),
        ("discard_draft", "Stray"),
        ("update", "Drafted"),
        ("update", "Renamed"),
    ]
    applied = cli("apply", "--plan", plan, directory, env=env)
    assert applied.exit_code == 0, applied.output
    assert cli("plan", directory, "--detailed-exitcode", env=env).exit_code == 0


def test_a_rule_the_plan_allows_without_showing_it_needs_applys_own_allow(
    tmp_path: Path, emulator: EmulatorServer, saved: tuple[Path, Path]
) -> None:
    """The plan's `allowed` waives only what its `overridden` showed the reviewer."""
    directory, plan = saved
    document = json.loads(plan.read_text())
    assert [v["rule"] for v in document["overridden"]] == ["delete"]
    document["overridden"] = []
    unshown = tmp_path / "unshown.json"
    unshown.write_text(json.dumps(document))
    env = env_for(emulator.url)
    assert "Safety rules overridden" not in cli("show", unshown, env=env).stdout
    sent = writes(emulator.stats())
    refused = cli("apply", "--plan", unshown, directory, env=env)
    assert refused.exit_code == 1, refused.output
    assert (
        '[delete] deleting "Old" (id 3): this environment does not allow deletes '
        "(safety.allow_delete: false) (the plan allows delete, but did not show this among the "
        "rules it overrides when it was made)"
    ) in said(refused)
    assert "pass --allow delete" in said(refused)
    assert writes(emulator.stats()) == sent
    applied = cli("apply", "--plan", unshown, directory, "--allow", "delete", env=env)
    assert applied.exit_code == 0, applied.output


@pytest.mark.parametrize(
    "shown",
    [
        'deleting "Scratch (id 3)": this environment does not allow deletes',
        'deleting "Scratch" (id 3): this environment does not allow deletes',
    ],
)
def test_a_shown_override_waives_only_the_ca_it_names(
    tmp_path: Path, emulator: EmulatorServer, saved: tuple[Path, Path], shown: str
) -> None:
    """A per-CA override is matched by the CA's id and name, both as the reason places
    them: an `(id N)` inside another name, or the id of "Old" beside another name, showed
    the reviewer another CA, yet waived the delete of "Old" (id 3)."""
    directory, plan = saved
    document = json.loads(plan.read_text())
    document["overridden"] = [{"rule": "delete", "message": shown}]
    crafted = tmp_path / "crafted.json"
    crafted.write_text(json.dumps(document))
    env = env_for(emulator.url)
    sent = writes(emulator.stats())
    refused = cli("apply", "--plan", crafted, directory, env=env)
    assert refused.exit_code == 1, refused.output
    assert "did not show this among the rules it overrides" in said(refused)
    assert writes(emulator.stats()) == sent


def test_a_shown_override_worded_by_another_version_still_holds(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """A rule about one CA is matched by the CA it names (its id), not by the wording of
    the version that made the plan: 020df79 wrote a name with a `"` unescaped, and this
    version refused that plan's reviewed override as one it "did not show". The override
    of another CA still waives nothing."""
    raw.activate(raw.create("Kept", SESSIONS))
    raw.activate(raw.create('Old "VIP"', SESSIONS))
    directory = write_manifests(
        tmp_path / "m", [ca("Kept", SESSIONS)], {"prune": True, "safety": {"allow_delete": False}}
    )
    env = env_for(emulator.url)
    plan = tmp_path / "plan.json"
    assert cli("plan", directory, "--out", plan, "--allow", "delete", env=env).exit_code == 0
    document = json.loads(plan.read_text())
    rest = "(id 2): this environment does not allow deletes (safety.allow_delete: false)"
    assert document["overridden"] == [
        {"rule": "delete", "message": f'deleting "Old \\"VIP\\"" {rest}'}
    ]
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(
            {**document, "overridden": [{"rule": "delete", "message": 'deleting "Kept" (id 1)'}]}
        )
    )
    refused = cli("apply", "--plan", other, directory, env=env)
    assert refused.exit_code == 1, refused.output
    assert "did not show this among the rules it overrides" in said(refused)
    document["overridden"] = [{"rule": "delete", "message": f'deleting "Old "VIP"" {rest}'}]
    plan.write_text(json.dumps(document))
    applied = cli("apply", "--plan", plan, directory, env=env)
    assert applied.exit_code == 0, applied.output
    assert cli("plan", directory, "--detailed-exitcode", env=env).exit_code == 0


def test_given_dir_a_plan_of_other_manifests_is_refused(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi, saved: tuple[Path, Path]
) -> None:
    """A plan file that shows what it sends, but was made from other manifests (an
    artifact of another branch, say), is not the plan of DIR: refused, nothing sent."""
    directory, _ = saved
    other = write_manifests(
        tmp_path / "other",
        [ca("Other", SESSIONS, description="as it was"), ca("Old", SESSIONS, description="x")],
        {"prune": True, "safety": {"allow_delete": False}},
    )
    foreign = tmp_path / "foreign.json"
    env = env_for(emulator.url)
    assert cli("plan", other, "--out", foreign, "--allow", "delete", env=env).exit_code == 0
    before = raw.list()
    sent = writes(emulator.stats())
    refused = cli("apply", "--plan", foreign, directory, env=env)
    assert refused.exit_code == 1, refused.output
    assert (
        f"this plan was not made from the manifests in {directory}: "
        '"Kept" (id 1): they give other actions for it (update, activate); '
        '"Old" (id 3): they give other actions for it (delete)'
    ) in said(refused)
    assert "Nothing was sent" in said(refused)
    assert writes(emulator.stats()) == sent
    assert raw.list() == before


def test_given_dir_ahead_of_the_plan_the_plan_still_applies(
    emulator: EmulatorServer, saved: tuple[Path, Path]
) -> None:
    """Another change merged after the plan was made (main ahead): the reviewed plan
    applies, and the next plan shows the rest."""
    directory, plan = saved
    manifests = json.loads((directory / "cas.yaml").read_text())
    manifests["calculated_attributes"].append(ca("Later", SESSIONS))
    (directory / "cas.yaml").write_text(json.dumps(manifests))
    env = env_for(emulator.url)
    applied = cli("apply", "--plan", plan, directory, env=env)
    assert applied.exit_code == 0, applied.output
    after = cli("plan", directory, "--format", "json", env=env)
    assert [(a["action"], a["name"]) for a in json.loads(after.stdout)["actions"]] == [
        ("create", "Later"),
        ("activate", "Later"),
    ]


def test_given_dir_a_plan_another_version_worded_still_applies(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """A warning is advice, worded by the version that made the plan: 020df79 wrote a name
    with a `"` in it unescaped. The plan of the same manifests, saved by that version and
    applied by this one with DIR, was refused as "not made from the manifests in DIR"."""
    raw.activate(raw.create("Kept", SESSIONS))
    directory = write_manifests(
        tmp_path / "m",
        [ca("Kept", SESSIONS), ca('Buyers "VIP"', WEEK_SESSIONS, renamed_from='Gone "VIP"')],
    )
    env = env_for(emulator.url)
    plan = tmp_path / "plan.json"
    assert cli("plan", directory, "--out", plan, env=env).exit_code == 0
    document = json.loads(plan.read_text())
    created = action(document, "create", 'Buyers "VIP"')
    assert created["warnings"] == [
        'renamed_from "Gone \\"VIP\\"" names no CA in the workspace, so this creates a new CA'
    ]
    created["warnings"] = [
        'renamed_from "Gone "VIP"" names no CA in the workspace, so this creates a new CA'
    ]
    plan.write_text(json.dumps(document))
    applied = cli("apply", "--plan", plan, directory, env=env)
    assert applied.exit_code == 0, applied.output
    assert cli("plan", directory, "--detailed-exitcode", env=env).exit_code == 0


def test_a_shown_threshold_override_holds_when_the_workspace_s_counts_move(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """The threshold's reason counts the workspace's CAs: a CA created elsewhere between
    review and apply turned the shown "4 of 10" into "4 of 11", and the reviewed override
    was refused as one the plan "did not show". A rule about one CA stays matched by the
    CA its reason names (the delete tests above)."""
    for n in range(10):
        raw.activate(raw.create(f"CA {n}", SESSIONS, description="as it was"))
    directory = write_manifests(
        tmp_path / "m",
        [ca(f"CA {n}", SESSIONS, description="new" if n < 4 else "as it was") for n in range(10)],
        {"safety": {"max_change_percent": 30}},
    )
    env = env_for(emulator.url)
    plan = tmp_path / "plan.json"
    made = cli("plan", directory, "--out", plan, "--allow", "threshold", env=env)
    assert made.exit_code == 0, made.output
    assert "4 of the workspace's 10 CAs" in made.stdout
    raw.create("Made elsewhere", SESSIONS)
    applied = cli("apply", "--plan", plan, directory, env=env)
    assert applied.exit_code == 0, applied.output
    assert cli("plan", directory, "--detailed-exitcode", env=env).exit_code == 0
