"""Settings precedence (SPEC §3): flag > environment > reconciler.yaml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import manifest
from reconciler.errors import ManifestError, SettingsError
from reconciler.settings import DEFAULT_API_URL, Flags, SettingsFile, resolve

HERE = Path("ws")


def test_defaults() -> None:
    settings = resolve(HERE, SettingsFile(workspace_id=5), environ={})
    assert settings.target == "embedded"
    assert settings.workspace_id == 5
    assert settings.prune is False
    assert settings.client_secret == "emulator"
    assert settings.emulator_db == HERE / ".reconciler" / "emulator.db"


def test_flag_beats_env_beats_file() -> None:
    file = SettingsFile(workspace_id=1, prune=True)
    env = {"MPARTICLE_WORKSPACE_ID": "2"}
    assert resolve(HERE, file, environ={}).workspace_id == 1
    assert resolve(HERE, file, environ=env).workspace_id == 2
    assert resolve(HERE, file, Flags(workspace_id=3), environ=env).workspace_id == 3
    assert resolve(HERE, file, Flags(prune=False), environ=env).prune is False


def test_api_url_in_the_environment_implies_mparticle() -> None:
    env = {
        "MPARTICLE_API_URL": "http://127.0.0.1:9/",
        "MPARTICLE_CLIENT_ID": "id",
        "MPARTICLE_CLIENT_SECRET": "secret",
    }
    settings = resolve(HERE, SettingsFile(workspace_id=1, target="embedded"), environ=env)
    assert settings.target == "mparticle"
    assert settings.api_url == "http://127.0.0.1:9"
    assert settings.client_secret == "secret"
    assert resolve(
        HERE, SettingsFile(workspace_id=1), Flags(target="embedded"), environ=env
    ).target == ("embedded")


def test_mparticle_target_uses_documented_defaults_and_needs_credentials() -> None:
    settings = resolve(HERE, SettingsFile(workspace_id=1, target="mparticle"), environ={})
    assert settings.api_url == DEFAULT_API_URL
    with pytest.raises(SettingsError, match="MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET"):
        settings.require_platform_credentials()
    with pytest.raises(SettingsError, match="MPARTICLE_API_KEY and MPARTICLE_API_SECRET"):
        settings.require_seeding_credentials()


def test_seeding_pod_names_resolve_to_hosts() -> None:
    env = {"MPARTICLE_S2S_URL": "eu1"}
    settings = resolve(HERE, SettingsFile(workspace_id=1, target="mparticle"), environ=env)
    assert settings.s2s_url == "https://s2s.eu1.mparticle.com"


def test_secrets_stay_out_of_repr() -> None:
    env = {"MPARTICLE_CLIENT_SECRET": "marker-secret", "MPARTICLE_CLIENT_ID": "x"}
    settings = resolve(HERE, SettingsFile(workspace_id=1, target="mparticle"), environ=env)
    assert "marker-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no workspace id"),
        ({"MPARTICLE_WORKSPACE_ID": "abc"}, "is not a workspace id"),
        ({"RECONCILER_TARGET": "prod"}, "use embedded or mparticle"),
    ],
)
def test_bad_settings_are_explained(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        resolve(HERE, SettingsFile(), environ=env)


def test_workspace_ids_beyond_64_bits_are_refused_where_written(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 9223372036854775808\n")
    with pytest.raises(ManifestError) as caught:
        manifest.load_settings(tmp_path)
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (1, "workspace_id")
    assert "9223372036854775807" in issue.message
    with pytest.raises(SettingsError, match="positive 64-bit integer"):
        resolve(HERE, SettingsFile(), environ={"MPARTICLE_WORKSPACE_ID": str(2**63)})
    assert resolve(HERE, SettingsFile(workspace_id=2**63 - 1), environ={}).workspace_id == 2**63 - 1


def test_the_seed_rate_and_its_ceiling_follow_the_precedence() -> None:
    file = SettingsFile(workspace_id=1, seed_rate=50, seed_rate_ceiling=70)
    env = {"RECONCILER_SEED_RATE": "120", "RECONCILER_SEED_RATE_CEILING": "90"}
    assert resolve(HERE, SettingsFile(workspace_id=1), environ={}).seed_rate is None
    from_file = resolve(HERE, file, environ={})
    assert (from_file.seed_rate, from_file.seed_rate_ceiling) == (50, 70)
    from_env = resolve(HERE, file, environ=env)
    assert (from_env.seed_rate, from_env.seed_rate_ceiling) == (120, 90)
    flagged = resolve(HERE, file, Flags(seed_rate=7, seed_rate_ceiling=60), environ=env)
    assert (flagged.seed_rate, flagged.seed_rate_ceiling) == (7, 60)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RECONCILER_SEED_RATE", "fast", "RECONCILER_SEED_RATE='fast' is not a number"),
        ("RECONCILER_SEED_RATE_CEILING", "120", "is not a percentage"),
    ],
)
def test_bad_seed_rate_settings_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        resolve(HERE, SettingsFile(workspace_id=1), environ={name: value})


def test_the_seed_rate_settings_are_checked_in_the_file(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "workspace_id: 1\nseed_rate: 0\nseed_rate_ceiling: 150\n"
    )
    with pytest.raises(ManifestError) as caught:
        manifest.load_settings(tmp_path)
    text = str(caught.value)
    assert "reconciler.yaml:2:12: seed_rate:" in text
    assert "reconciler.yaml:3:20: seed_rate_ceiling:" in text


def test_the_budget_settings_follow_the_precedence_and_the_environments() -> None:
    file = SettingsFile.model_validate(
        {
            "workspace_id": 1,
            "active_limit": 50,
            "retention_days": 90,
            "environments": {"dev": {"retention_days": 30}, "prod": {"active_limit": 400}},
        }
    )
    dev = resolve(HERE, file, Flags(environment="dev"), environ={})
    assert (dev.active_limit, dev.retention_days) == (50, 30)
    prod = resolve(HERE, file, Flags(environment="prod"), environ={})
    assert (prod.active_limit, prod.retention_days) == (400, 90)
    overridden = resolve(
        HERE, file, Flags(environment="prod"), environ={"RECONCILER_ACTIVE_LIMIT": "7"}
    )
    assert overridden.active_limit == 7
    bare = resolve(HERE, SettingsFile(workspace_id=1), environ={})
    assert (bare.active_limit, bare.retention_days) == (None, None)


@pytest.mark.parametrize("value", ["many", "0", "-3", "2.5"])
def test_a_bad_active_limit_in_the_environment_is_named(value: str) -> None:
    with pytest.raises(SettingsError, match=f"RECONCILER_ACTIVE_LIMIT='{value}' is not a number"):
        resolve(HERE, SettingsFile(workspace_id=1), environ={"RECONCILER_ACTIVE_LIMIT": value})


def test_the_budget_settings_are_checked_in_the_file(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "workspace_id: 1\nactive_limit: 0\nenvironments:\n  dev:\n    retention_days: soon\n"
    )
    with pytest.raises(ManifestError) as caught:
        manifest.load_settings(tmp_path)
    text = str(caught.value)
    assert "reconciler.yaml:2:15: active_limit:" in text
    assert "reconciler.yaml:5:21: environments.dev.retention_days:" in text


def test_the_embedded_target_counts_against_the_limit_its_emulator_enforces() -> None:
    from reconciler.api import transports
    from reconciler.emulator import EmulatorConfig

    embedded = resolve(HERE, SettingsFile(workspace_id=1), environ={})
    assert transports.active_limit(embedded) == EmulatorConfig().max_active
    chosen = resolve(
        HERE, SettingsFile(workspace_id=1, active_limit=20, retention_days=30), environ={}
    )
    config = transports.embedded_config(chosen)
    assert (config.max_active, config.retention_days) == (20, 30)
    assert transports.active_limit(chosen) == 20
    server = resolve(
        HERE, SettingsFile(workspace_id=1), environ={"MPARTICLE_API_URL": "http://127.0.0.1:9"}
    )
    assert transports.active_limit(server) is None
