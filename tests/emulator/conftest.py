"""Fixtures of the emulator suite: an API client with valid credentials (the servers come
from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator.api import Api
from tests.support.emulator import EmulatorServer


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[Api]:
    client = Api(emulator)
    yield client
    client.close()
