"""Fixtures of the seeding tests: a real emulator server on loopback whose workspace holds
the test manifests' CAs (prepared once, copied per server), and the CLI's environment."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator import EmulatorServer, running_emulator
from tests.support.seeds import create_workspace

WORKSPACE_ID = 1234
API_KEY = "seed-key"
#: Long and odd, so that finding it anywhere in an output means a leak.
API_SECRET = "Seed-Secret-4f1c9e"

Serve = Callable[..., AbstractContextManager[EmulatorServer]]


#: Tests send as fast as the machine goes: their servers run without the seeding limits,
#: and the governed default (100 users/s) would make 100,000 users take 17 minutes.
FAST_RATE = "1000000"


def cli_env(server: EmulatorServer, **extra: str) -> dict[str, str]:
    """The environment of `reconciler seed` against `server` (fast retries, a high rate)."""
    return {
        "RECONCILER_SEED_RATE": FAST_RATE,
        "RECONCILER_TARGET": "mparticle",
        "MPARTICLE_S2S_URL": server.url,
        "MPARTICLE_API_KEY": API_KEY,
        "MPARTICLE_API_SECRET": API_SECRET,
        "RECONCILER_RETRY_INITIAL_WAIT": "0.01",
        "RECONCILER_RETRY_MAX_WAIT": "0.2",
        "NO_COLOR": "1",
        **extra,
    }


@pytest.fixture(scope="session")
def workspace_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An emulator database whose workspace holds the test manifests' CAs."""
    db = tmp_path_factory.mktemp("workspace") / "emulator.db"
    with running_emulator(
        db=db, workspace_id=WORKSPACE_ID, api_key=API_KEY, api_secret=API_SECRET
    ) as server:
        create_workspace(server.url, server.token(), WORKSPACE_ID)
    return db


@pytest.fixture
def serve(workspace_db: Path, tmp_path: Path) -> Serve:
    """`with serve(latency_ms=..., fault_rate=...) as server:` — a fresh emulator server on
    a copy of the prepared workspace, with the seeding credentials of `cli_env`."""

    @contextmanager
    def start(**options: Any) -> Iterator[EmulatorServer]:
        directory = tmp_path / f"emulator-{len(list(tmp_path.glob('emulator-*')))}"
        directory.mkdir()
        for found in workspace_db.parent.glob(workspace_db.name + "*"):
            shutil.copy(found, directory / found.name)
        with running_emulator(
            db=directory / workspace_db.name,
            workspace_id=WORKSPACE_ID,
            api_key=API_KEY,
            api_secret=API_SECRET,
            **options,
        ) as server:
            yield server

    return start
