"""Environments in reconciler.yaml (SPEC §7): choosing one, layering its settings over the
top level's, credentials and workspace ids by environment, and the rules across them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler import manifest
from reconciler.environments import chosen_environments, promotion_order
from reconciler.errors import ManifestError, SettingsError
from reconciler.manifest.document import read_yaml
from reconciler.settings import (
    EnvironmentSettings,
    Flags,
    SafetyPolicy,
    SettingsFile,
    Target,
    environment_prefix,
    resolve,
)

HERE = Path("ws")

THREE = SettingsFile.model_validate(
    {
        "target": "mparticle",
        "safety": {"max_change_percent": 10},
        "scope": ["Growth *"],
        "environments": {
            "dev": {"workspace_id": 111, "target": "embedded"},
            "staging": {"workspace_id": 222},
            "prod-eu": {
                "workspace_id": 333,
                "prune": True,
                "promote_from": "staging",
                "safety": {"allow_delete": False},
                "drafts": "preserve",
                "scope": ["Growth *", "LTV"],
            },
        },
    }
)
CREDENTIALS = {"MPARTICLE_CLIENT_ID": "plain-id", "MPARTICLE_CLIENT_SECRET": "plain-secret"}


def test_an_environment_layers_its_settings_over_the_top_level() -> None:
    prod = resolve(HERE, THREE, Flags(environment="prod-eu"), environ=CREDENTIALS)
    assert (prod.environment, prod.workspace_id, prod.target) == ("prod-eu", 333, "mparticle")
    assert prod.prune is True
    assert prod.promote_from == "staging"
    assert prod.drafts == "preserve"
    assert prod.scope == ("Growth *", "LTV")
    # The safety block merges key by key: the top level's limit stays.
    assert prod.safety == SafetyPolicy(max_change_percent=10, allow_delete=False)
    dev = resolve(HERE, THREE, Flags(environment="dev"), environ=CREDENTIALS)
    assert (dev.target, dev.prune, dev.drafts, dev.scope) == (
        "embedded",
        False,
        "discard",
        ("Growth *",),
    )
    assert dev.safety == SafetyPolicy(max_change_percent=10)


URL = "https://api.example.com"
#: (top level, the environment's block, environment variables, --target) -> its target:
#: the more specific source decides; within one, an explicit target beats an api_url.
TARGETS: list[tuple[dict[str, str], dict[str, str | None], dict[str, str], str | None, str]] = [
    ({"target": "embedded"}, {"api_url": URL}, {}, None, "mparticle"),
    ({"target": "embedded"}, {}, {}, None, "embedded"),
    ({"api_url": URL}, {}, {}, None, "mparticle"),
    ({"api_url": URL}, {"target": "embedded"}, {}, None, "embedded"),
    ({"target": "embedded", "api_url": URL}, {}, {}, None, "embedded"),
    ({}, {"target": "embedded", "api_url": URL}, {}, None, "embedded"),
    ({"target": "mparticle"}, {"target": None, "api_url": URL}, {}, None, "mparticle"),
    ({"target": "mparticle"}, {"target": None}, {}, None, "embedded"),
    ({"target": "embedded"}, {}, {"MPARTICLE_API_URL": URL}, None, "mparticle"),
    ({}, {"api_url": URL}, {"RECONCILER_TARGET": "embedded"}, None, "embedded"),
    ({}, {"api_url": URL}, {"MPARTICLE_API_URL": URL}, "embedded", "embedded"),
]


@pytest.mark.parametrize(("top", "own", "environ", "flag", "expected"), TARGETS)
def test_the_more_specific_source_decides_the_target(
    top: dict[str, str],
    own: dict[str, str | None],
    environ: dict[str, str],
    flag: Target | None,
    expected: str,
) -> None:
    file = SettingsFile.model_validate(
        {**top, "environments": {"prod": {"workspace_id": 3, **own}}}
    )
    # The file's api_url is not mParticle's: the environment must trust its host.
    environ = {"RECONCILER_TRUSTED_HOSTS": "api.example.com", **environ}
    settings = resolve(HERE, file, Flags(target=flag, environment="prod"), environ=environ)
    assert settings.target == expected


def test_each_environment_has_its_own_embedded_database() -> None:
    dev = resolve(HERE, THREE, Flags(environment="dev"), environ={})
    assert dev.emulator_db == HERE / ".reconciler" / "dev" / "emulator.db"
    unnamed = resolve(HERE, SettingsFile(workspace_id=1), environ={})
    assert unnamed.emulator_db == HERE / ".reconciler" / "emulator.db"


def test_credentials_by_environment_fall_back_to_the_plain_names() -> None:
    env = {
        **CREDENTIALS,
        "MPARTICLE_PROD_EU_CLIENT_SECRET": "prod-secret",
        "MPARTICLE_PROD_EU_API_KEY": "prod-key",
        "MPARTICLE_STAGING_CLIENT_ID": "",  # empty counts as unset
    }
    prod = resolve(HERE, THREE, Flags(environment="prod-eu"), environ=env)
    assert (prod.client_id, prod.client_secret, prod.api_key) == (
        "plain-id",
        "prod-secret",
        "prod-key",
    )
    staging = resolve(HERE, THREE, Flags(environment="staging"), environ=env)
    assert (staging.client_id, staging.client_secret) == ("plain-id", "plain-secret")
    assert environment_prefix("prod-eu") == "MPARTICLE_PROD_EU_"
    with pytest.raises(SettingsError, match=r"MPARTICLE_STAGING_API_KEY and .* \(or MPARTICLE_"):
        staging.require_seeding_credentials()


def test_workspace_ids_by_environment() -> None:
    prod = Flags(environment="prod-eu")
    env = {"MPARTICLE_PROD_EU_WORKSPACE_ID": "999"}
    assert resolve(HERE, THREE, prod, environ=env).workspace_id == 999
    assert (
        resolve(HERE, THREE, Flags(workspace_id=5, environment="prod-eu"), environ=env).workspace_id
        == 5
    )
    # A plain MPARTICLE_WORKSPACE_ID that agrees is fine; one that disagrees is refused.
    assert resolve(HERE, THREE, prod, environ={"MPARTICLE_WORKSPACE_ID": "333"}).workspace_id == 333
    with pytest.raises(SettingsError, match="MPARTICLE_PROD_EU_WORKSPACE_ID"):
        resolve(HERE, THREE, prod, environ={"MPARTICLE_WORKSPACE_ID": "1"})
    # An environment without its own id takes the plain variable, then the top level's.
    shared = SettingsFile.model_validate({"workspace_id": 7, "environments": {"a": {}, "b": None}})
    assert resolve(HERE, shared, Flags(environment="a"), environ={}).workspace_id == 7
    plain = {"MPARTICLE_WORKSPACE_ID": "8"}
    assert resolve(HERE, shared, Flags(environment="b"), environ=plain).workspace_id == 8


def test_choosing_environments() -> None:
    assert chosen_environments(THREE, "dev", {}) == ["dev"]
    assert chosen_environments(THREE, None, {"RECONCILER_ENV": "staging"}) == ["staging"]
    assert chosen_environments(THREE, "all", {}, allow_all=True) == ["dev", "staging", "prod-eu"]
    with pytest.raises(SettingsError, match=r"--env is required: .* dev, staging, prod-eu"):
        chosen_environments(THREE, None, {})
    with pytest.raises(SettingsError, match="did you mean `staging`"):
        chosen_environments(THREE, "stagin", {})
    with pytest.raises(SettingsError, match="works on one environment"):
        chosen_environments(THREE, "all", {})
    with_default = THREE.model_copy(update={"default_environment": "dev"})
    assert chosen_environments(with_default, None, {}) == ["dev"]
    # Without environments there is one unnamed environment, exactly as before.
    single = SettingsFile(workspace_id=1)
    assert chosen_environments(single, None, {}) == [None]
    with pytest.raises(SettingsError, match="defines no environments"):
        chosen_environments(single, "dev", {})
    # `all` is the one environment for plan (a CI matrix runs it everywhere); a command
    # that works on one environment refuses it, as it does with environments (SPEC §7).
    assert chosen_environments(single, "all", {}, allow_all=True) == [None]
    with pytest.raises(SettingsError, match="--env all: this command works on one environment"):
        chosen_environments(single, "all", {})


def test_promotion_order_puts_sources_first() -> None:
    file = SettingsFile.model_validate(
        {
            "environments": {
                "prod": {"promote_from": "staging"},
                "staging": {"promote_from": "dev"},
                "dev": {},
                "sandbox": {},
            }
        }
    )
    assert promotion_order(file) == ["dev", "staging", "prod", "sandbox"]


def _settings_errors(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "reconciler.yaml").write_text(text)
    with pytest.raises(ManifestError) as caught:
        manifest.load_settings(tmp_path)
    return [str(issue) for issue in caught.value.issues]


def test_rules_across_environments_are_located(tmp_path: Path) -> None:
    errors = _settings_errors(
        tmp_path,
        "default_environment: prd\n"
        "environments:\n"
        "  prod: {workspace_id: 3, promote_from: stagng}\n"
        "  staging: {workspace_id: 2, promote_from: qa}\n"
        "  qa: {promote_from: staging}\n"
        "  self: {promote_from: self}\n"
        "  Prod: {}\n",
    )
    path = str(tmp_path / "reconciler.yaml")
    assert errors == [
        f"{path}:1:22: default_environment: unknown environment `prd`; did you mean `prod`? "
        "reconciler.yaml defines prod, staging, qa, self, Prod",
        f"{path}:3:41: environments.prod.promote_from: unknown environment `stagng`; did you "
        "mean `staging`? reconciler.yaml defines prod, staging, qa, self, Prod",
        f"{path}:4:44: environments.staging.promote_from: promotion cycle: `qa` promotes "
        "(indirectly) from `staging`",
        f"{path}:5:22: environments.qa.promote_from: promotion cycle: `staging` promotes "
        "(indirectly) from `qa`",
        f"{path}:6:24: environments.self.promote_from: an environment cannot promote from itself",
        f"{path}:7:9: environments.Prod: `Prod` and `prod` would both read credentials from "
        "MPARTICLE_PROD_*; rename one",
    ]


def test_environment_names_and_secrets_in_environment_blocks(tmp_path: Path) -> None:
    errors = _settings_errors(
        tmp_path,
        "environments:\n"
        "  all: {workspace_id: 1}\n"
        "  prod:\n"
        "    workspace_id: 3\n"
        "    client_secret: oops\n"
        "    safety: {max_change_percent: 150, allow_delte: false}\n",
    )
    assert any("`all` is reserved" in error for error in errors)
    assert any(":5:5: environments.prod.client_secret: secrets are never read" in e for e in errors)
    assert any("max_change_percent" in error for error in errors)
    assert any("did you mean `allow_delete`?" in error for error in errors)
    assert not any("oops" in error for error in errors)


def test_environment_settings_are_the_workspace_settings_plus_promote_from() -> None:
    assert set(EnvironmentSettings.model_fields) - set(SettingsFile.model_fields) == {
        "promote_from"
    }
    assert set(SettingsFile.model_fields) - set(EnvironmentSettings.model_fields) == {
        "default_environment",
        "environments",
    }


def test_the_schemas_know_environments_and_the_example_satisfies_them() -> None:
    root = Path(__file__).resolve().parents[1]
    settings_schema = json.loads((root / "schemas" / "settings.schema.json").read_text())
    manifest_schema = json.loads((root / "schemas" / "manifest.schema.json").read_text())
    example = root / "examples" / "environments"
    for path, schema in (
        (example / "reconciler.yaml", settings_schema),
        (example / "growth.yaml", manifest_schema),
    ):
        assert path.read_text().startswith("# yaml-language-server: $schema=../../schemas/")
        data = json.loads(json.dumps(read_yaml(path, path.name).data, default=str))
        jsonschema.validate(data, schema)
    settings = jsonschema.Draft202012Validator(settings_schema)
    assert list(settings.iter_errors({"environments": {"all": {}}}))
    assert list(settings.iter_errors({"environments": {"prod": {"promote_fro": "x"}}}))
    assert list(settings.iter_errors({"safety": {"max_change_percent": 101}}))
    assert not list(settings.iter_errors({"environments": {"prod": {"drafts": "preserve"}}}))
    manifests = jsonschema.Draft202012Validator(manifest_schema)
    ca = {"name": "X", "definition": {}, "overrides": {"prod": {"activ": False}}}
    assert any("activ" in e.message for e in manifests.iter_errors({"calculated_attributes": [ca]}))
