"""The pipeline's seams for `apply --seeds`: seeding only the seeds of some CAs (`only`),
each such run with a checkpoint of its own; running on the caller's event loop
(`seed_async`); adding to the rejects file of an earlier run (`append_rejects`)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from reconciler import manifest
from reconciler.seeding import SeedOptions, seed, seed_async
from reconciler.seeding.catalogue import Catalogue, SeedTarget
from reconciler.seeding.pipeline import subset
from reconciler.settings import Settings, resolve
from tests.seeding.conftest import Serve, cli_env
from tests.support.emulator import EmulatorServer
from tests.support.seeds import MANIFESTS, user, users, write_jsonl

CATALOGUE = Catalogue.from_manifests(manifest.load(MANIFESTS))


def settings_for(server: EmulatorServer) -> Settings:
    environ = {
        **cli_env(server),
        "MPARTICLE_API_URL": server.url,
        "MPARTICLE_AUTH_URL": f"{server.url}/oauth/token",
        "MPARTICLE_CLIENT_ID": "emulator",
        "MPARTICLE_CLIENT_SECRET": "emulator",
    }
    return resolve(MANIFESTS, manifest.load_settings(MANIFESTS), environ=environ)


def stored_cas(server: EmulatorServer) -> dict[int, set[str]]:
    return {
        stored["mpid"]: set(stored["calculated_attributes"])
        for stored in server.seeds()["users"]
        if stored["mpid"] is not None
    }


def test_a_user_keeps_only_its_seeds_for_the_chosen_cas() -> None:
    body: dict[str, Any] = user(1)
    kept = subset(body, frozenset({"LTV", "Orders"}), keep_unseeded=False)
    assert kept is not None
    names = [seed["attribute_name"] for seed in kept["calculated_attributes"]["workspace"]]
    assert names == ["LTV", "Orders"]
    assert kept["user_attributes"] == body["user_attributes"]
    assert subset(body, frozenset({"Nope"}), keep_unseeded=True) is None
    bare = {**body, "calculated_attributes": {"workspace": []}}
    assert subset(bare, frozenset({"LTV"}), keep_unseeded=False) is None
    assert subset(bare, frozenset({"LTV"}), keep_unseeded=True) is bare


def test_runs_for_two_groups_of_cas_land_each_users_seeds_once(
    serve: Serve, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(300))
    first = frozenset({"LTV", "Orders"})
    second = frozenset(CATALOGUE.names) - first
    with serve() as server:
        settings = settings_for(server)
        one = seed(
            SeedOptions(file=path, only=first, checkpoint=tmp_path / "one.jsonl"),
            CATALOGUE,
            settings,
        )
        assert one.users_valid == 300
        assert set(one.users_by_ca) == first
        assert all(names <= first for names in stored_cas(server).values())
        two = asyncio.run(
            seed_async(
                SeedOptions(file=path, only=second, checkpoint=tmp_path / "two.jsonl"),
                CATALOGUE,
                settings,
            )
        )
        assert set(two.users_by_ca) <= second
        held = stored_cas(server)
        wanted = {
            body["mpid"]: {s["attribute_name"] for s in body["calculated_attributes"]["workspace"]}
            for body in users(300)
            if "mpid" in body
        }
        assert held == wanted
        # Each group's checkpoint resumes only its own run: nothing is sent again.
        before = server.stats()["seed_users_accepted"]
        again = seed(
            SeedOptions(file=path, only=first, checkpoint=tmp_path / "one.jsonl"),
            CATALOGUE,
            settings,
        )
        assert again.batches_skipped == again.batches_total == one.batches_total
        assert server.stats()["seed_users_accepted"] == before


def test_a_subset_checkpoint_does_not_care_about_other_cas() -> None:
    targets = [CATALOGUE.get(name) for name in CATALOGUE.names]
    moved = [
        replace(t, cutoff=date(2025, 1, 1)) if t.name == "Orders" else t
        for t in targets
        if isinstance(t, SeedTarget)
    ]
    changed = Catalogue(moved)
    assert changed.fingerprint() != CATALOGUE.fingerprint()
    assert changed.fingerprint(["LTV"]) == CATALOGUE.fingerprint(["LTV"])
    assert changed.fingerprint(["LTV", "Orders"]) != CATALOGUE.fingerprint(["LTV", "Orders"])


def test_appending_rejects_keeps_those_of_the_run_before(serve: Serve, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(20))
    rejects = tmp_path / "rejects.jsonl"
    rejects.write_bytes(orjson.dumps({"line": 1, "errors": ["earlier"]}) + b"\n")
    with serve() as server:
        server.refuse_seeds(10**15 + 1)
        report = seed(
            SeedOptions(file=path, only=frozenset({"LTV"}), rejects=rejects, append_rejects=True),
            CATALOGUE,
            settings_for(server),
        )
    lines = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert lines[0]["errors"] == ["earlier"]
    assert [line["line"] for line in lines[1:]] == [2]
    assert report.refused_by_ca == {"LTV": 1}
