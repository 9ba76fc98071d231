"""Environments end to end (SPEC §7–§8): a dev → staging → prod repository against three
emulator servers on loopback, one per environment, each with its own client secret and
serving only its own workspace. Every scenario ends with the convergence check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_plan import LIST, writes
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer, running_emulator
from tests.support.workspace import PURCHASES, SESSIONS, RawApi, ca

NAMES = ("dev", "staging", "prod")
WORKSPACES = {"dev": 111, "staging": 222, "prod": 333}
SECRETS = {name: f"{name}-secret-value" for name in NAMES}
#: Credentials by environment; the plain client id is the shared fallback.
ENV = {
    "MPARTICLE_CLIENT_ID": "emulator",
    **{f"MPARTICLE_{name.upper()}_CLIENT_SECRET": secret for name, secret in SECRETS.items()},
    "RECONCILER_RETRY_INITIAL_WAIT": "0.01",
    "RECONCILER_RETRY_MAX_WAIT": "0.2",
}
WEEKLY = {**SESSIONS, "time_period": {"type": "within", "within": 7, "within_unit": "days"}}
#: The repository: a CA everywhere, one inactive in prod by override, one for dev and
#: staging only.
CAS = [
    ca("Growth LTV", PURCHASES),
    ca("Growth Sessions", SESSIONS, overrides={"prod": {"active": False}}),
    ca("Growth Debug", WEEKLY, environments=["dev", "staging"]),
]

Servers = dict[str, EmulatorServer]


@pytest.fixture(scope="module")
def all_servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                running_emulator(workspace_id=WORKSPACES[name], client_secret=SECRETS[name])
            )
            for name in NAMES
        }


@pytest.fixture
def servers(all_servers: Servers) -> Servers:
    for server in all_servers.values():
        server.reset()
    return all_servers


def raw(servers: Servers, name: str) -> RawApi:
    return RawApi(servers[name].url, WORKSPACES[name], client_secret=SECRETS[name])


def repository(
    root: Path,
    servers: Servers,
    cas: list[dict[str, Any]] = CAS,
    **settings: dict[str, Any],
) -> Path:
    """A manifest directory whose environments each point at their own server."""
    environments = {
        name: {
            "workspace_id": WORKSPACES[name],
            "api_url": servers[name].url,
            "auth_url": f"{servers[name].url}/oauth/token",
            **settings.get(name, {}),
        }
        for name in NAMES
    }
    environments["prod"].setdefault("promote_from", "staging")
    document = {"default_environment": "dev", "environments": environments, **settings.get("", {})}
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(json.dumps(document))
    (root / "cas.yaml").write_text(json.dumps({"calculated_attributes": cas}, indent=1))
    return root


def cli(*args: str | Path, **env: str) -> Result:
    result = run_cli(*args, env={**ENV, **env})
    assert "Traceback" not in result.output
    return result


def apply(directory: Path, name: str, *extra: str) -> None:
    result = cli("apply", directory, "--env", name, "--auto-approve", *extra)
    assert result.exit_code == 0, result.output


def converged(directory: Path, servers: Servers) -> None:
    """Every environment plans empty, and a second apply in each writes nothing."""
    again = cli("plan", directory, "--env", "all", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    before = {name: writes(server.stats()) for name, server in servers.items()}
    for name in NAMES:
        apply(directory, name)
    assert {name: writes(server.stats()) for name, server in servers.items()} == before


def plan_json(directory: Path, *extra: str, code: int = 0) -> dict[str, Any]:
    result = cli("plan", directory, "--format", "json", *extra)
    assert result.exit_code == code, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_three_environments_converge_in_promotion_order(tmp_path: Path, servers: Servers) -> None:
    directory = repository(tmp_path / "m", servers)
    for name in NAMES:  # dev, staging, then prod (whose gate staging now passes)
        apply(directory, name)
    converged(directory, servers)
    dev, staging, prod = (raw(servers, name).by_name() for name in NAMES)
    assert sorted(dev) == sorted(staging) == ["Growth Debug", "Growth LTV", "Growth Sessions"]
    assert sorted(prod) == ["Growth LTV", "Growth Sessions"]
    # The override holds: inactive in prod (a draft), active elsewhere.
    assert prod["Growth Sessions"]["active_definition"] is None
    assert prod["Growth Sessions"]["draft_definition"] is not None
    assert staging["Growth Sessions"]["active_definition"] is not None
    # Without --env, default_environment (dev) is planned.
    default = cli("plan", directory, "--format", "json")
    assert json.loads(default.stdout)["environment"] == "dev"
    # Every environment is on the API: no embedded database was created.
    assert not (directory / ".reconciler").exists()


def test_a_plan_with_no_changes_says_which_workspace(tmp_path: Path, servers: Servers) -> None:
    """A CI job per environment: each one's `No changes.` names the workspace and
    environment it compared (text and Markdown; JSON carries both), as a plan with changes
    does, and prints no secret."""
    directory = repository(tmp_path / "m", servers)
    for name in NAMES:
        apply(directory, name)
    for name in NAMES:
        words = f"workspace {WORKSPACES[name]} (environment {name})"
        text = cli("plan", directory, "--env", name, "--detailed-exitcode")
        assert text.exit_code == 0, text.output
        assert text.stdout.startswith(f"Reconciler will perform no actions in {words}.\n")
        assert "No changes." in text.stdout
        assert SECRETS[name] not in text.output
    comment = cli("plan", directory, "--env", "prod", "--format", "markdown").stdout
    assert comment.startswith("### reconciler plan for workspace 333 (environment prod)\n")
    assert "**No changes." in comment
    document = plan_json(directory, "--env", "prod")
    assert (document["workspace_id"], document["environment"]) == (333, "prod")
    assert document["actions"] == []
    changed = [ca("Growth LTV", {**PURCHASES, "calculation_type": "max"}), *CAS[1:]]
    repository(directory, servers, changed)
    dev = cli("plan", directory, "--env", "dev")
    assert dev.stdout.startswith(
        "Reconciler will perform these actions in workspace 111 (environment dev):\n"
    )


def test_credentials_come_by_environment(tmp_path: Path, servers: Servers) -> None:
    directory = repository(tmp_path / "m", servers)
    everywhere = cli("plan", directory, "--env", "all", "--allow", "promotion")
    assert everywhere.exit_code == 0, everywhere.output
    # Without its own secret prod falls back to the plain one, which its server refuses.
    wrong = cli(
        "plan",
        directory,
        "--env",
        "prod",
        MPARTICLE_PROD_CLIENT_SECRET="",
        MPARTICLE_CLIENT_SECRET="x",
    )
    assert wrong.exit_code == 1
    assert "authentication failed" in wrong.stderr
    assert SECRETS["prod"] not in wrong.output
    # Only the secret is missing (the plain client id is set): only the secret is named.
    missing = cli("plan", directory, "--env", "prod", MPARTICLE_PROD_CLIENT_SECRET="")
    assert missing.exit_code == 1
    assert (
        "environment prod: target mparticle needs Platform API credentials: set "
        "MPARTICLE_PROD_CLIENT_SECRET (or MPARTICLE_CLIENT_SECRET) in the environment"
    ) in missing.stderr


def test_env_all_lists_each_workspace_once(tmp_path: Path, servers: Servers) -> None:
    directory = repository(tmp_path / "m", servers)
    document = plan_json(directory, "--env", "all", "--allow", "promotion")
    assert list(document["environments"]) == list(NAMES)
    for name in NAMES:
        plan = document["environments"][name]
        assert (plan["environment"], plan["workspace_id"]) == (name, WORKSPACES[name])
        assert plan["target"]["api_url"] == servers[name].url
    # One list request per environment: prod's gate reads staging's list of this run.
    assert {name: s.stats()["requests"].get(LIST, 0) for name, s in servers.items()} == {
        "dev": 1,
        "staging": 1,
        "prod": 1,
    }
    # Planning prod alone lists staging once more, for the gate.
    assert cli("plan", directory, "--env", "prod").exit_code == 1  # staging is empty
    assert {name: s.stats()["requests"].get(LIST, 0) for name, s in servers.items()} == {
        "dev": 1,
        "staging": 2,
        "prod": 2,
    }
    text = cli("plan", directory, "--env", "all", "--allow", "promotion")
    assert text.stdout.startswith("== Environment dev: workspace 111 ==")
    markdown = cli(
        "plan", directory, "--env", "all", "--format", "markdown", "--allow", "promotion"
    )
    assert markdown.stdout.startswith("## reconciler plan for 3 environments")
    for name in NAMES:
        assert f"(environment {name})" in markdown.stdout


def test_the_promotion_gate_refuses_then_passes(tmp_path: Path, servers: Servers) -> None:
    directory = repository(tmp_path / "m", servers)
    for name in NAMES:
        apply(directory, name)
    changed = [ca("Growth LTV", {**PURCHASES, "calculation_type": "max"}), *CAS[1:]]
    repository(directory, servers, changed)
    prod_writes = writes(servers["prod"].stats())
    refused = cli("plan", directory, "--env", "prod")
    assert refused.exit_code == 1
    assert "not yet active in staging (it runs another definition) ✗" in refused.stdout
    assert '[promotion] "Growth LTV" is not yet active in staging' in refused.stderr
    assert "apply --env staging first" in refused.stderr
    assert "--allow promotion" in refused.stderr
    assert cli("apply", directory, "--env", "prod", "--auto-approve").exit_code == 1
    assert writes(servers["prod"].stats()) == prod_writes
    apply(directory, "staging")
    passed = cli("plan", directory, "--env", "prod")
    assert passed.exit_code == 0, passed.output
    assert "promoted from staging ✓" in passed.stdout
    apply(directory, "dev")
    apply(directory, "prod")
    converged(directory, servers)


def test_out_of_scope_cas_are_untouched_by_prune(tmp_path: Path, servers: Servers) -> None:
    prod = raw(servers, "prod")
    theirs = prod.create("Ops Counter", SESSIONS)
    prod.create("Growth Retired", SESSIONS)
    directory = repository(tmp_path / "m", servers, prod={"scope": ["Growth *"], "prune": True})
    for name in NAMES:
        apply(directory, name)
    live = prod.by_name()
    assert sorted(live) == ["Growth LTV", "Growth Sessions", "Ops Counter"]
    assert live["Ops Counter"]["id"] == theirs
    plan = plan_json(directory, "--env", "prod")
    assert plan["unmanaged"] == []  # out of scope: not even listed
    # Selecting it selects nothing, and the warning does not deny that the workspace has
    # it (it said "matches no CA in the manifests or the workspace"): the scope hides it.
    selected = cli("plan", directory, "--env", "prod", "--only", "Ops *")
    assert selected.exit_code == 0, selected.output
    assert (
        "Warning: --only Ops * matches no CA in the manifests or the workspace's scope (globs "
        "are case-sensitive): check the pattern; live CAs outside `scope` are never planned"
    ) in selected.stderr
    exported = cli("export", directory, "--env", "prod", "--out", tmp_path / "exported")
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in (tmp_path / "exported").glob("*.yaml")) == [
        "growth-ltv.yaml",
        "growth-sessions.yaml",
        "reconciler.yaml",
    ]
    converged(directory, servers)


def test_only_applies_exactly_the_selection(tmp_path: Path, servers: Servers) -> None:
    directory = repository(tmp_path / "m", servers)
    plan = plan_json(directory, "--env", "dev", "--only", "Growth *", "--exclude", "*Debug")
    assert plan["selection"] == {
        "only": ["Growth *"],
        "exclude": ["*Debug"],
        "not_selected": 1,
    }
    assert {a["name"] for a in plan["actions"]} == {"Growth LTV", "Growth Sessions"}
    text = cli("plan", directory, "--only", "Growth LTV")
    assert text.stdout.rstrip().endswith(
        "0 unchanged, 0 unmanaged. 2 not selected. Active after apply: 1."
    )
    apply(directory, "dev", "--only", "Growth LTV")
    assert sorted(raw(servers, "dev").by_name()) == ["Growth LTV"]
    # The rest is still to do, and the selection converged.
    assert cli("plan", directory, "--only", "Growth LTV", "--detailed-exitcode").exit_code == 0
    assert cli("plan", directory, "--detailed-exitcode").exit_code == 2
    # A saved plan records its selection and applies nothing beyond it.
    saved = tmp_path / "sessions.json"
    result = cli("plan", directory, "--only", "Growth Sessions", "--out", saved)
    assert result.exit_code == 0, result.output
    widened = cli("apply", "--plan", saved, "--exclude", "nothing")
    assert widened.exit_code == 1
    assert "a saved plan applies exactly its own selection" in widened.stderr
    applied = cli("apply", "--plan", saved)
    assert applied.exit_code == 0, applied.output
    assert "The saved plan covers only its selection (--only Growth Sessions)." in applied.stderr
    assert sorted(raw(servers, "dev").by_name()) == ["Growth LTV", "Growth Sessions"]
    for name in NAMES:
        apply(directory, name)
    converged(directory, servers)


def _activate_all(servers: Servers, name: str, count: int) -> RawApi:
    api = raw(servers, name)
    for n in range(count):
        api.activate(api.create(f"Growth {n}", SESSIONS))
    return api


RULE_CASES = ["threshold", "delete", "delete-in-use", "activations", "drafts", "promotion"]


def _stage_rule(rule: str, root: Path, servers: Servers) -> tuple[Path, str]:
    """A repository and an environment whose next plan breaks exactly `rule`."""
    name = "prod" if rule == "promotion" else "dev"
    if rule == "threshold":
        _activate_all(servers, "dev", 10)
        cas = [ca(f"Growth {n}", WEEKLY if n < 4 else SESSIONS) for n in range(10)]
        return repository(root, servers, cas, dev={"safety": {"max_change_percent": 25}}), name
    if rule in ("delete", "delete-in-use"):
        api = _activate_all(servers, "dev", 1)
        if rule == "delete-in-use":
            servers["dev"].set_audience_count(api.by_name()["Growth 0"]["id"], 3)
        settings = {"prune": True, "safety": {"allow_delete": rule == "delete-in-use"}}
        return repository(root, servers, [], dev=settings), name
    if rule == "activations":
        return repository(root, servers, CAS, dev={"safety": {"max_activations": 2}}), name
    if rule == "drafts":
        api = _activate_all(servers, "dev", 1)
        api.update(api.by_name()["Growth 0"]["id"], "Growth 0", WEEKLY)  # edited in the UI
        cas = [ca("Growth 0", PURCHASES)]
        return repository(root, servers, cas, dev={"drafts": "preserve"}), name
    return repository(root, servers, CAS[:1]), name  # promotion: staging is empty


@pytest.mark.parametrize("rule", RULE_CASES)
def test_each_safety_rule_is_refused_then_allowed(
    rule: str, tmp_path: Path, servers: Servers
) -> None:
    directory, name = _stage_rule(rule, tmp_path / "m", servers)
    before = writes(servers[name].stats())
    refused = cli("plan", directory, "--env", name, "--out", tmp_path / "refused.json")
    assert refused.exit_code == 1
    assert f"[{rule}]" in refused.stderr
    assert f"--allow {rule}" in refused.stderr
    assert "The plan was not saved." in refused.stderr
    assert not (tmp_path / "refused.json").exists()
    # A script reads which rules refuse the plan in the JSON (per environment with --env all).
    as_json = cli("plan", directory, "--env", name, "--format", "json")
    assert as_json.exit_code == 1
    assert {v["rule"] for v in json.loads(as_json.stdout)["refused"]} == {rule}
    if rule == "delete":
        every = json.loads(cli("plan", directory, "--env", "all", "--format", "json").stdout)
        refused_in = {env for env, one in every["environments"].items() if "refused" in one}
        assert refused_in == {name}
    assert cli("apply", directory, "--env", name, "--auto-approve").exit_code == 1
    assert writes(servers[name].stats()) == before
    plan = plan_json(directory, "--env", name, "--allow", rule)
    assert "refused" not in plan
    assert plan["allowed"] == [rule]
    assert plan["overridden"]
    assert {v["rule"] for v in plan["overridden"]} == {rule}
    markdown = cli("plan", directory, "--env", name, "--allow", rule, "--format", "markdown")
    assert markdown.exit_code == 0
    assert f"> [!CAUTION]\n> **Safety rules overridden for this plan:** `--allow {rule}`" in (
        markdown.stdout
    )
    saved = tmp_path / "allowed.json"
    assert cli("plan", directory, "--env", name, "--allow", rule, "--out", saved).exit_code == 0
    if rule == "promotion":
        # The gate is about the source when the change is made: the plan's allowance does
        # not carry over, apply must allow it itself.
        waiting = cli("apply", "--plan", saved)
        assert waiting.exit_code == 1
        assert '[promotion] "Growth LTV" is still not yet created in staging' in waiting.stderr
    applied = cli("apply", "--plan", saved, "--allow", rule)
    assert applied.exit_code == 0, applied.output
    again = cli("plan", directory, "--env", name, "--allow", rule, "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_a_preserved_ui_draft_survives_apply(tmp_path: Path, servers: Servers) -> None:
    directory = repository(tmp_path / "m", servers, dev={"drafts": "preserve"})
    apply(directory, "dev")
    api = raw(servers, "dev")
    ltv = api.by_name()["Growth LTV"]["id"]
    edited = {**PURCHASES, "time_period": {"type": "since", "date": "2023-03-01"}}
    api.update(ltv, "Growth LTV", edited)  # a draft made in the UI
    shown = cli("plan", directory, "--detailed-exitcode")
    assert shown.exit_code == 0, shown.output
    assert f'= draft kept "Growth LTV" (id {ltv})' in shown.stdout
    apply(directory, "dev")
    draft = api.get(ltv)["draft_definition"]
    assert draft is not None
    assert draft["time_period"]["date"].startswith("2023-03-01")
    # With discard (the default) the same draft is discarded.
    repository(directory, servers)
    assert [a["action"] for a in plan_json(directory, code=0)["actions"]] == ["discard_draft"]


def test_a_saved_plan_checks_the_gate_again(tmp_path: Path, servers: Servers) -> None:
    directory = repository(tmp_path / "m", servers)
    apply(directory, "staging")
    saved = tmp_path / "prod.json"
    planned = cli("plan", directory, "--env", "prod", "--out", saved)
    assert planned.exit_code == 0, planned.output
    # Staging moves on before prod's reviewed plan is applied.
    staging = raw(servers, "staging")
    ltv = staging.by_name()["Growth LTV"]["id"]
    staging.update(ltv, "Growth LTV", {**PURCHASES, "calculation_type": "min"})
    staging.activate(ltv)
    before = writes(servers["prod"].stats())
    refused = cli("apply", "--plan", saved)
    assert refused.exit_code == 1
    # It says the way out (it named none, and "--allow promotion" alone was offered).
    assert (
        '[promotion] "Growth LTV" no longer runs the checked definition in staging: staging '
        "changed it since the plan was made; make a new plan"
    ) in refused.stderr
    assert writes(servers["prod"].stats()) == before
    assert cli("apply", "--plan", saved, "--allow", "promotion").exit_code == 0


def test_an_environments_own_api_url_beats_an_inherited_target(
    tmp_path: Path, servers: Servers
) -> None:
    """The more specific layer decides the target: prod's own api_url makes it mparticle
    (at that URL) under a top-level `target: embedded`, which dev still inherits."""
    url = servers["prod"].url
    document = {
        "default_environment": "dev",
        "target": "embedded",
        "environments": {
            "dev": {"workspace_id": WORKSPACES["dev"]},
            "prod": {
                "workspace_id": WORKSPACES["prod"],
                "api_url": url,
                "auth_url": f"{url}/oauth/token",
            },
        },
    }
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "reconciler.yaml").write_text(json.dumps(document))
    (directory / "cas.yaml").write_text(json.dumps({"calculated_attributes": [ca("A")]}))
    target = plan_json(directory, "--env", "prod")["target"]
    assert (target["kind"], target["api_url"]) == ("mparticle", url)
    assert plan_json(directory, "--env", "dev")["target"]["kind"] == "embedded"
    apply(directory, "prod")
    assert sorted(raw(servers, "prod").by_name()) == ["A"]
    assert not (directory / ".reconciler" / "prod").exists()  # no local stand-in for prod
    again = cli("plan", directory, "--env", "prod", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_a_refused_secret_names_the_variables_it_was_read_from(
    tmp_path: Path, servers: Servers
) -> None:
    directory = repository(tmp_path / "m", servers)
    cases = [  # (the variables set, the names the message must give)
        (
            {"MPARTICLE_PROD_CLIENT_SECRET": "wrong"},
            "MPARTICLE_CLIENT_ID and MPARTICLE_PROD_CLIENT_SECRET",
        ),
        (
            {"MPARTICLE_PROD_CLIENT_ID": "emulator", "MPARTICLE_PROD_CLIENT_SECRET": "wrong"},
            "MPARTICLE_PROD_CLIENT_ID and MPARTICLE_PROD_CLIENT_SECRET",
        ),
        (
            {"MPARTICLE_PROD_CLIENT_SECRET": "", "MPARTICLE_CLIENT_SECRET": "wrong"},
            "MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET",
        ),
    ]
    for variables, names in cases:
        refused = cli("plan", directory, "--env", "prod", **variables)
        assert refused.exit_code == 1
        assert "authentication failed" in refused.stderr
        assert f"(check {names})" in refused.stderr
        assert "wrong" not in refused.output


def test_a_refusal_with_env_all_says_no_plan_was_saved(tmp_path: Path, servers: Servers) -> None:
    """`plan --env all --out DIR` in which only prod's plan is refused saves none of the
    plans, but said "The plan was not saved.", as if dev's and staging's were."""
    directory = repository(tmp_path / "m", servers)  # staging is empty: prod's gate refuses
    refused = cli("plan", directory, "--env", "all", "--out", tmp_path / "plans")
    assert refused.exit_code == 1
    assert "[promotion]" in refused.stderr
    assert refused.stderr.rstrip().endswith(
        "No plan was saved, not even dev's and staging's, which no rule refuses: --out saves "
        "every environment's plan or none."
    )
    assert not (tmp_path / "plans").exists()


def test_a_saved_plan_gated_by_staging_s_manifests_says_so(
    tmp_path: Path, servers: Servers
) -> None:
    """A CA that staging's manifests do not declare: the saved plan's apply was refused with
    "apply --env staging first", which can never pass the gate for it."""
    cas = [ca("Growth Prod", SESSIONS, environments=["prod"])]
    directory = repository(tmp_path / "m", servers, cas)
    saved = tmp_path / "prod.json"
    made = cli("plan", directory, "--env", "prod", "--allow", "promotion", "--out", saved)
    assert made.exit_code == 0, made.output
    refused = cli("apply", "--plan", saved)
    assert refused.exit_code == 1
    assert (
        '[promotion] "Growth Prod" was not declared in staging when the plan was made, and '
        "staging does not run it: declare it there, active, apply --env staging, then make a "
        "new plan."
    ) in refused.stderr
    assert "apply --env staging first" not in refused.stderr


def test_an_error_of_the_promotion_source_says_whose_gate_reads_it(
    tmp_path: Path, servers: Servers
) -> None:
    """`plan --env prod` without staging's credentials said "environment staging: ..." (and
    `apply --plan` not even that): the user, who asked for prod, was not told that prod's
    promotion gate reads staging."""
    directory = repository(tmp_path / "m", servers)
    apply(directory, "staging")
    saved = tmp_path / "prod.json"
    assert cli("plan", directory, "--env", "prod", "--out", saved).exit_code == 0
    source = "environment staging (the promotion source of prod): "
    no_secret = {"MPARTICLE_STAGING_CLIENT_SECRET": ""}
    for args in (("plan", directory, "--env", "prod"), ("apply", "--plan", saved)):
        missing = cli(*args, **no_secret)
        assert missing.exit_code == 1
        assert f"{source}target mparticle needs Platform API credentials" in missing.stderr
        # A CI-wide workspace id that fits prod, but not staging, is refused for staging.
        shared = cli(*args, MPARTICLE_WORKSPACE_ID=str(WORKSPACES["prod"]))
        assert shared.exit_code == 1
        assert f"{source}MPARTICLE_WORKSPACE_ID=333 disagrees" in shared.stderr
    wrong_id = cli(
        "apply", directory, "--env", "prod", "--auto-approve", MPARTICLE_STAGING_WORKSPACE_ID="9"
    )
    assert wrong_id.exit_code == 1
    assert f"{source}workspace 9 was not found" in wrong_id.stderr
    apply(directory, "dev")
    assert cli("apply", "--plan", saved).exit_code == 0
    converged(directory, servers)


def test_a_workspace_the_api_does_not_have_names_where_its_id_was_set(
    tmp_path: Path, servers: Servers
) -> None:
    """A wrong id listed every place an id may be set ("workspace_id in reconciler.yaml,
    MPARTICLE_WORKSPACE_ID or --workspace-id"), not the MPARTICLE_PROD_WORKSPACE_ID that
    set it, nor the environment's own block."""
    directory = repository(tmp_path / "m", servers)
    by_variable = cli("plan", directory, "--env", "prod", MPARTICLE_PROD_WORKSPACE_ID="9")
    assert by_variable.exit_code == 1
    assert (
        "environment prod: workspace 9 was not found: check the workspace id (set by "
        "MPARTICLE_PROD_WORKSPACE_ID) and the API URL"
    ) in by_variable.stderr
    repository(directory, servers, prod={"workspace_id": 8})
    in_file = cli("plan", directory, "--env", "prod")
    assert in_file.exit_code == 1
    assert (
        f"workspace 8 was not found: check the workspace id (set by "
        f"environments.prod.workspace_id in {directory / 'reconciler.yaml'}) and the API URL"
    ) in in_file.stderr
