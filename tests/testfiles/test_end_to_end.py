"""End to end over loopback: the example workspace applied to a real emulator server
(activation), its test users' seeds sent with `reconciler seed`, their events posted to the
emulator's Events API; the emulator's profile read then shows, for every active CA, the
value `reconciler test` predicts for the same user."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx

from reconciler import manifest, testfiles
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import env_for

ROOT = Path(__file__).resolve().parents[2]


def _seed_file(path: Path, suites: list[testfiles.Suite]) -> Path:
    """The test users' seeds, one user a line, in the Seeding API's body shape (the
    calculation type and cutoff are taken from the manifests by `reconciler seed`)."""
    lines = [
        {
            "environment": "development",
            "mpid": user.mpid,
            "calculated_attributes": {
                "workspace": [
                    {"attribute_name": ca, "seed": seed} for ca, seed in user.seeds.items()
                ]
            },
        }
        for suite in suites
        for user in suite.users.values()
        if user.seeds
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_profiles_show_what_reconciler_test_predicts(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    directory = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", directory)
    env = {
        **env_for(emulator.url),
        "MPARTICLE_S2S_URL": emulator.url,
        "MPARTICLE_API_KEY": "emulator",
        "MPARTICLE_API_SECRET": "emulator",
    }
    applied = run_cli("apply", directory, "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    assert run_cli("plan", directory, "--detailed-exitcode", env=env).exit_code == 0

    desired = manifest.load(directory)
    definitions = {d.name: d.ca.canonical for d in desired.cas}
    active = {d.name for d in desired.cas if d.ca.active}
    suites = testfiles.load(directory, definitions)
    seeded = run_cli("seed", _seed_file(tmp_path / "seeds.jsonl", suites), directory, env=env)
    assert seeded.exit_code == 0, seeded.output

    batches = [
        {"mpid": user.mpid, "environment": "development", "events": list(user.events)}
        for suite in suites
        for user in suite.users.values()
    ]
    with httpx.Client(base_url=emulator.url, headers=emulator.seeding_headers()) as http:
        assert http.post("/v2/bulkevents", json=batches).status_code == 202
        checked = 0
        for result, suite in zip(testfiles.run(suites, definitions), suites, strict=True):
            for outcome in result.outcomes:
                assert outcome.passed, outcome
                mpid = suite.users[outcome.user].mpid
                profile = http.get(
                    f"/_emulator/profiles/{mpid}", params={"as_of": str(suite.as_of)}
                ).json()["calculated_attributes"]
                if outcome.ca in active:
                    assert profile[outcome.ca] == outcome.actual, (outcome.user, outcome.ca)
                    checked += 1
                else:
                    assert outcome.ca not in profile  # a draft is not calculated
    assert checked == 23
