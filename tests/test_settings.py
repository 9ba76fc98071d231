"""Settings precedence (SPEC §3): flag > environment > reconciler.yaml > default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import reconciler
from reconciler import manifest
from reconciler.errors import ManifestError, SettingsError
from reconciler.settings import (
    DEFAULT_API_URL,
    DEFAULT_DEADLINE,
    Flags,
    SettingsFile,
    Tuning,
    resolve,
)
from tests.support.cli import run_cli
from tests.support.workspace import ca, write_manifests

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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RECONCILER_RETRY_ATTEMPTS", "abc", "must be a number of attempts between 1 and 100"),
        ("RECONCILER_RETRY_ATTEMPTS", "0", "must be a number of attempts between 1 and 100"),
        ("RECONCILER_RETRY_ATTEMPTS", "2.5", "must be a number of attempts between 1 and 100"),
        ("RECONCILER_RETRY_INITIAL_WAIT", "-1", "must be seconds between 0 and 600"),
        ("RECONCILER_RETRY_MAX_WAIT", "nan", "must be seconds between 0 and 3600"),
        ("RECONCILER_REQUEST_TIMEOUT", "0", "must be seconds between 0.01 and 3600"),
        ("RECONCILER_DEADLINE", "inf", "must be seconds between 0.01 and 604800"),
        ("RECONCILER_WAIT_INTERVAL", "abc", "must be seconds between 0.01 and 3600"),
        (
            "RECONCILER_RATE_LIMIT",
            "1e-300",
            "must be a number of requests per second between 0.01 and 10000",
        ),
        (
            "RECONCILER_RATE_LIMIT",
            "0",
            "must be a number of requests per second between 0.01 and 10000",
        ),
        ("RECONCILER_WORKERS", "0", "must be a number of processes between 1 and 64"),
        ("RECONCILER_WORKERS", "1.5", "must be a number of processes between 1 and 64"),
        # Large bounds as the README writes them, not 1e+07.
        ("RECONCILER_ACTIVE_LIMIT", "0", "must be a number of CAs between 1 and 1000000000"),
    ],
)
def test_every_knob_is_validated_and_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve(HERE, SettingsFile(workspace_id=1), environ={name: value})
    assert caught.value.message == f"{name}={value!r}: {message}"


def test_knobs_are_read_once_into_tuning_and_passed_down() -> None:
    env = {
        "RECONCILER_RETRY_ATTEMPTS": " 3 ",
        "RECONCILER_RETRY_INITIAL_WAIT": "0.5",
        "RECONCILER_RETRY_MAX_WAIT": "4",
        "RECONCILER_REQUEST_TIMEOUT": "7",
        "RECONCILER_DEADLINE": "90",
        "RECONCILER_WAIT_INTERVAL": "0.05",
        "RECONCILER_RATE_LIMIT": "2.5",
        "RECONCILER_CACHE_DIR": "/tmp/c",
        "RECONCILER_WORKERS": "3",
    }
    settings = resolve(HERE, SettingsFile(workspace_id=1, rate_limit=9), environ=env)
    assert settings.tuning == Tuning(
        retry_attempts=3,
        retry_initial_wait=0.5,
        retry_max_wait=4,
        request_timeout=7,
        deadline=90,
        wait_interval=0.05,
        rate_limit=2.5,
        cache_dir=Path("/tmp/c"),
        workers=3,
    )
    assert settings.rate_limit == 2.5  # the environment beats reconciler.yaml
    assert settings.tuning.command_deadline() == 90
    assert settings.tuning.command_deadline(None) == 90


def test_unset_and_empty_knobs_take_their_defaults() -> None:
    for env in ({}, dict.fromkeys(KNOBS, "")):
        tuning = Tuning.from_env({**env, "XDG_CACHE_HOME": "/x"})
        assert tuning == Tuning(cache_dir=Path("/x/reconciler"))
        assert tuning.command_deadline() == DEFAULT_DEADLINE
        assert tuning.command_deadline(None) is None  # seed: no deadline unless one is set
    assert Tuning.from_env({"RECONCILER_CACHE_DIR": ""}).cache_dir is None  # cache off


def test_a_rate_limit_in_reconciler_yaml_is_range_checked(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\nrate_limit: 1.0e-300\n")
    with pytest.raises(ManifestError) as caught:
        manifest.load_settings(tmp_path)
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (2, "rate_limit")


@pytest.mark.parametrize(
    ("text", "line", "path", "message"),
    [
        ("scope: []\n", 2, "scope", "an empty scope owns no CA"),
        ("environments:\n  prod:\n    scope: []\n", 4, "environments.prod.scope", "remove `scope`"),
        ('scope: ["LTV", " "]\n', 2, "scope[1]", "a blank pattern"),
    ],
)
def test_an_empty_scope_is_refused_where_it_is_written(
    tmp_path: Path, text: str, line: int, path: str, message: str
) -> None:
    """Not as a CA "outside the scope ()" at every CA of every manifest."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n" + text)
    with pytest.raises(ManifestError) as caught:
        manifest.load_settings(tmp_path)
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (line, path)
    assert message in issue.message


KNOBS = (
    "RECONCILER_RETRY_ATTEMPTS",
    "RECONCILER_RETRY_INITIAL_WAIT",
    "RECONCILER_RETRY_MAX_WAIT",
    "RECONCILER_REQUEST_TIMEOUT",
    "RECONCILER_DEADLINE",
    "RECONCILER_WAIT_INTERVAL",
    "RECONCILER_RATE_LIMIT",
    "RECONCILER_SEED_RATE",
    "RECONCILER_SEED_RATE_CEILING",
    "RECONCILER_WORKERS",
)


@pytest.mark.parametrize("name", KNOBS)
def test_a_junk_knob_is_a_named_user_error_for_every_command(name: str, tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    for command in (["validate"], ["plan"], ["export", "--out", str(tmp_path / "out")]):
        result = run_cli(*command, directory, env={name: "abc"})
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"Error: {name}='abc': must be "), result.stderr
        assert "bug" not in result.output


def test_the_environment_is_read_only_where_settings_and_secrets_are() -> None:
    """Every knob is read in settings (the terminal reads NO_COLOR, the edge its secrets,
    and environments which environment RECONCILER_ENV names): a knob read anywhere else
    escapes validation."""
    allowed = {
        "settings/tuning.py",
        "settings/resolved.py",
        "environments.py",
        "console.py",
        "api/secrets.py",
    }
    package = Path(reconciler.__file__).parent
    readers = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "emulator" not in path.parts
        and re.search(r"os\.environ|getenv\(", path.read_text())
        and path.relative_to(package).as_posix() not in allowed
    )
    assert readers == []


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
        (
            "RECONCILER_SEED_RATE",
            "fast",
            "RECONCILER_SEED_RATE='fast': must be a number of users per second between 0.01",
        ),
        (
            "RECONCILER_SEED_RATE_CEILING",
            "120",
            "RECONCILER_SEED_RATE_CEILING='120': must be a percentage between 0.01 and 100",
        ),
    ],
)
def test_bad_seed_rate_settings_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        resolve(HERE, SettingsFile(workspace_id=1), environ={name: value})


def _seed_rate_errors(directory: Path, rate: str, ceiling: str) -> str:
    """The error of a reconciler.yaml with this seed rate and ceiling."""
    (directory / "reconciler.yaml").write_text(
        f"workspace_id: 1\nseed_rate: {rate}\nseed_rate_ceiling: {ceiling}\n"
    )
    with pytest.raises(ManifestError) as caught:
        manifest.load_settings(directory)
    return str(caught.value)


def test_the_seed_rate_settings_are_checked_in_the_file(tmp_path: Path) -> None:
    text = _seed_rate_errors(tmp_path, "0", "150")
    assert "reconciler.yaml:2:12: seed_rate:" in text
    assert "reconciler.yaml:3:20: seed_rate_ceiling:" in text


def test_the_seed_rate_settings_in_the_file_take_the_range_of_the_environment(
    tmp_path: Path,
) -> None:
    """README: seed_rate 0.01-10000000, seed_rate_ceiling 0.01-100, as in the environment."""
    text = _seed_rate_errors(tmp_path, "0.005", "0.005")
    assert "reconciler.yaml:2:12: seed_rate:" in text
    assert "reconciler.yaml:3:20: seed_rate_ceiling:" in text
    (tmp_path / "reconciler.yaml").write_text(
        "workspace_id: 1\nseed_rate: 10000001\nseed_rate_ceiling: 0.01\n"
    )
    with pytest.raises(ManifestError, match=r"reconciler\.yaml:2:12: seed_rate:"):
        manifest.load_settings(tmp_path)
    (tmp_path / "reconciler.yaml").write_text(
        "workspace_id: 1\nseed_rate: 0.01\nseed_rate_ceiling: 0.01\n"
    )
    assert manifest.load_settings(tmp_path) is not None


def test_the_active_limit_in_the_file_takes_the_range_of_the_environment(
    tmp_path: Path,
) -> None:
    """RECONCILER_ACTIVE_LIMIT stops at a billion; reconciler.yaml took any whole number."""
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\nactive_limit: 1000000001\n")
    with pytest.raises(ManifestError, match=r"reconciler\.yaml:2:15: active_limit:"):
        manifest.load_settings(tmp_path)
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\nactive_limit: 1000000000\n")
    assert manifest.load_settings(tmp_path).active_limit == 10**9


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
    with pytest.raises(
        SettingsError, match=f"RECONCILER_ACTIVE_LIMIT='{value}': must be a number of CAs"
    ):
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


#: (URL written in reconciler.yaml, hosts the environment trusts) -> may it receive
#: credentials? mParticle's hosts over https, this machine, and hosts the environment names.
DESTINATIONS: list[tuple[str, frozenset[str], bool]] = [
    ("https://sso.auth.mparticle.com/oauth/token", frozenset(), True),
    ("https://api.mparticle.com", frozenset(), True),
    ("https://s2s.eu1.mparticle.com", frozenset(), True),
    ("https://mparticle.com", frozenset(), True),
    ("https://API.MParticle.com./x", frozenset(), True),
    ("http://127.0.0.1:8123", frozenset(), True),
    ("http://localhost:8123/oauth/token", frozenset(), True),
    ("https://[::1]:8123", frozenset(), True),
    ("http://127.9.9.9:8123", frozenset(), True),
    ("https://emulator.localhost", frozenset(), False),  # some resolvers ask the network
    ("https://gateway.corp.example/platform", frozenset({"gateway.corp.example"}), True),
    ("https://Gateway.Corp.Example.:8443", frozenset({"gateway.corp.example"}), True),
    ("https://attacker.example/oauth/token", frozenset(), False),
    ("https://attacker.example/oauth/token", frozenset({"gateway.corp.example"}), False),
    ("https://api.mparticle.com.attacker.example", frozenset(), False),
    ("https://attackermparticle.com", frozenset(), False),
    ("https://attacker.example\\.mparticle.com", frozenset(), False),
    ("https://api.mparticle.com\u3002attacker.example", frozenset(), False),  # 。 is a dot
    ("https://\u0430pi.mparticle.com", frozenset(), True),  # Cyrillic а: still mParticle's
    ("https://sub.gateway.corp.example", frozenset({"gateway.corp.example"}), False),
    # Plain http to another machine: readable on the way, whoever the host is.
    ("http://api.mparticle.com", frozenset(), False),
    ("http://gateway.corp.example", frozenset({"gateway.corp.example"}), False),
]


@pytest.mark.parametrize(("url", "trusted", "allowed"), DESTINATIONS)
def test_where_credentials_from_the_file_may_go(
    url: str, trusted: frozenset[str], allowed: bool
) -> None:
    from reconciler.settings.trust import refusal

    assert (refusal(url, trusted) is None) is allowed


ATTACKER = "https://attacker.example/oauth/token"


def test_the_environment_trusts_hosts_by_list_and_by_the_urls_it_gives() -> None:
    from reconciler.settings.trust import trusted_hosts

    env = {"RECONCILER_TRUSTED_HOSTS": " Proxy.Example, gw.example. other.example,,"}
    assert trusted_hosts(env, "https://API.example:8443/x", "eu1", None, "") == {
        "proxy.example",
        "gw.example",
        "other.example",
        "api.example",
    }


@pytest.mark.parametrize("entry", ["*", "*.corp.example", "https://gw.example/", "gw.example:8443"])
def test_a_trusted_host_that_is_not_a_host_name_is_named(entry: str) -> None:
    """A wildcard, a URL or a port would silently trust nothing: the variable is named."""
    file = SettingsFile.model_validate(
        {"workspace_id": 1, "target": "mparticle", "auth_url": ATTACKER}
    )
    environ = {"RECONCILER_TRUSTED_HOSTS": f"ok.example, {entry}"}
    with pytest.raises(SettingsError, match=r"RECONCILER_TRUSTED_HOSTS: '.*' is not a host name"):
        resolve(HERE, file, environ=environ)


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ("https://ci:ghp_s3cret@gw.example/api", "'https://***@gw.example/api'"),
        ("ci:ghp_s3cret@gw.example", "'***@gw.example'"),
    ],
)
def test_a_trusted_host_entry_with_a_password_is_named_without_it(entry: str, shown: str) -> None:
    """A URL pasted whole with its credentials is refused without printing them to a CI
    log."""
    file = SettingsFile.model_validate(
        {"workspace_id": 1, "target": "mparticle", "auth_url": ATTACKER}
    )
    environ = {"RECONCILER_TRUSTED_HOSTS": entry}
    with pytest.raises(SettingsError) as caught:
        resolve(HERE, file, environ=environ)
    assert "ghp_s3cret" not in str(caught.value)
    assert f"RECONCILER_TRUSTED_HOSTS: {shown} is not a host name" in str(caught.value)


#: (reconciler.yaml, environment variables, flags) of a file URL the environment allows.
ALLOWED: list[tuple[dict[str, object], dict[str, str], Flags]] = [
    ({"auth_url": ATTACKER}, {"RECONCILER_TRUSTED_HOSTS": "attacker.example"}, Flags()),
    ({"auth_url": ATTACKER}, {"MPARTICLE_AUTH_URL": "https://sso.auth.mparticle.com/t"}, Flags()),
    ({"auth_url": ATTACKER}, {"MPARTICLE_API_URL": "https://attacker.example"}, Flags()),
    ({"auth_url": ATTACKER}, {}, Flags(api_url="https://attacker.example/api")),
    ({"auth_url": ATTACKER}, {}, Flags(target="embedded")),
    ({"auth_url": ATTACKER, "target": "embedded"}, {}, Flags()),
    ({"auth_url": "https://sso.auth.mparticle.com/oauth/token", "s2s_url": "eu1"}, {}, Flags()),
    ({"api_url": "https://attacker.example"}, {"MPARTICLE_API_URL": "http://127.0.0.1:1"}, Flags()),
    ({"s2s_url": "https://s2s.attacker.example"}, {"MPARTICLE_S2S_URL": "us2"}, Flags()),
]


@pytest.mark.parametrize(("written", "environ", "flags"), ALLOWED)
def test_a_url_of_the_file_goes_where_the_environment_allows(
    written: dict[str, object], environ: dict[str, str], flags: Flags
) -> None:
    file = SettingsFile.model_validate({"workspace_id": 1, "target": "mparticle", **written})
    resolve(HERE, file, flags, environ=environ)


def test_a_url_of_the_file_the_environment_does_not_trust_is_refused_located(
    tmp_path: Path,
) -> None:
    """reconciler.yaml (which a pull request can change) chose where the client secret and
    the bearer token went: `auth_url: https://attacker.example/...` received them."""
    text = (
        "workspace_id: 1\n"
        "target: mparticle\n"
        "s2s_url: https://s2s.attacker.example\n"
        "environments:\n"
        "  prod:\n"
        f"    auth_url: {ATTACKER}\n"
        "  dev:\n"
        "    api_url: http://api.mparticle.com\n"
    )
    (tmp_path / "reconciler.yaml").write_text(text)
    file = manifest.load_settings(tmp_path)
    with pytest.raises(ManifestError) as raised:
        resolve(tmp_path, file, Flags(environment="prod"), environ={})
    located = [str(issue) for issue in raised.value.issues]
    where = tmp_path / "reconciler.yaml"
    # One environment's URL is not to be set in MPARTICLE_AUTH_URL, which every
    # environment would then send its credentials to.
    assert located == [
        f"{where}:6:15: environments.prod.auth_url: '{ATTACKER}' would receive the client id "
        "and secret, but attacker.example is neither mParticle's (mparticle.com) nor this "
        "machine, and the environment does not trust it: reconciler.yaml, which a pull "
        "request can change, cannot choose where credentials go. Nothing was sent. If the "
        "host is yours, trust it in the environment: RECONCILER_TRUSTED_HOSTS=attacker.example",
        f"{where}:3:10: s2s_url: 'https://s2s.attacker.example' would receive the workspace "
        "key and secret, but s2s.attacker.example is neither mParticle's (mparticle.com) nor "
        "this machine, and the environment does not trust it: reconciler.yaml, which a pull "
        "request can change, cannot choose where credentials go. Nothing was sent. If the "
        "host is yours, trust it in the environment: "
        "RECONCILER_TRUSTED_HOSTS=s2s.attacker.example, or set MPARTICLE_S2S_URL to this URL",
    ]
    with pytest.raises(ManifestError) as raised:
        resolve(tmp_path, file, Flags(environment="dev"), environ={})
    issue, inherited = raised.value.issues
    assert (issue.line, issue.path, inherited.path) == (8, "environments.dev.api_url", "s2s_url")
    assert "the URL is plain http://" in issue.message
    assert str(issue).endswith("Nothing was sent. Use https://")


@pytest.mark.parametrize(
    ("url", "here"),
    [
        ("http://localhost:8080", True),
        ("http://LOCALHOST.:8080", True),
        ("http://127.0.0.2", True),
        ("http://[::1]:8123", True),
        ("http://ci.localhost:8080", False),  # some resolvers ask the network
        ("http://10.0.0.1", False),
    ],
)
def test_this_machine_is_read_one_way_for_credentials_proxies_and_warnings(
    url: str, here: bool
) -> None:
    """`*.localhost` was this machine for proxies and plain-http warnings and another one
    for where credentials may go: one URL, two readings."""
    from reconciler.settings import is_loopback
    from reconciler.settings.trust import refusal

    assert is_loopback(url) is here
    assert (refusal(url, frozenset()) is None) is here


def test_the_problems_of_reconciler_yaml_are_listed_top_to_bottom(tmp_path: Path) -> None:
    """They came in the model's field order (`workspace_id`, `prune`, then `drafts` of
    line 1), not the file's, as a manifest's problems do."""
    directory = write_manifests(tmp_path, [ca("A")])
    (directory / "reconciler.yaml").write_text("drafts: keep\nworkspace_id: x\nprune: 3\n")
    result = run_cli("validate", directory)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "reconciler.yaml:" in line]
    assert [line.split("reconciler.yaml:")[1].split(":")[0] for line in lines] == ["1", "2", "3"]
