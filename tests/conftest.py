"""Shared fixtures: one emulator server for the session (reset before each test that uses
it), a factory for servers with their own options, and a raw API hand for staging states."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.support.emulator import EmulatorServer, running_emulator
from tests.support.workspace import RawApi

StartEmulator = Callable[..., EmulatorServer]

# Property tests judge results, not speed: on a shared 2-core CI runner one slow example
# (a collection, another process's burst) failed a test by Hypothesis's 200 ms deadline.
settings.register_profile("reconciler", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("reconciler")


@pytest.fixture(scope="session", autouse=True)
def _ctrl_c_reaches_the_tests() -> Iterator[None]:
    """Tests of Ctrl-C need SIGINT to reach this process and the CLI processes it starts.
    A shell without job control starts a background job (`pytest &`, `nohup`) with SIGINT
    ignored, and Python then installs no handler of its own: a signal raised in a test was
    lost and the Ctrl-C tests failed only when the suite ran in the background. A Python
    handler is undone by `exec`, so the processes the tests start get the default too."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session", autouse=True)
def _private_manifest_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests (and the CLI processes they start) use a cache of their own, not ~/.cache."""
    previous = os.environ.get("RECONCILER_CACHE_DIR")
    os.environ["RECONCILER_CACHE_DIR"] = str(tmp_path_factory.mktemp("manifest-cache"))
    yield
    if previous is None:
        del os.environ["RECONCILER_CACHE_DIR"]
    else:
        os.environ["RECONCILER_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with running_emulator() as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    """The session's emulator, cleared of earlier tests' data and settings."""
    emulator_server.reset()
    return emulator_server


@pytest.fixture
def start_emulator() -> Iterator[StartEmulator]:
    """Start emulators with their own flags (`start_emulator(fault_rate=0.3)`); all are
    stopped at the end of the test."""
    with ExitStack() as stack:

        def start(**options: Any) -> EmulatorServer:
            return stack.enter_context(running_emulator(**options))

        yield start


@pytest.fixture
def raw(emulator: EmulatorServer) -> Iterator[RawApi]:
    api = RawApi(emulator.url)
    yield api
    api.close()


@pytest.fixture
def local_zone() -> Iterator[Callable[[str], None]]:
    """Run the test in another local time zone (`local_zone("Pacific/Niue")`, a POSIX TZ
    name); the process's own zone is back afterwards."""
    previous = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    time.tzset()
