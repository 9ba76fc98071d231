"""The Platform API client's errors against the emulator server: what a user reads when
the credentials are wrong or a call fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import target
from reconciler.errors import AuthError, NotFoundError
from reconciler.settings import SettingsFile, resolve
from tests.support.emulator import EmulatorServer
from tests.support.workspace import WORKSPACE, env_for


async def test_refused_client_secret_is_not_called_missing(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    settings = resolve(
        tmp_path,
        SettingsFile(workspace_id=WORKSPACE),
        environ={**env_for(emulator.url), "MPARTICLE_CLIENT_SECRET": "wrong"},
    )
    async with target.platform(settings) as client:
        with pytest.raises(AuthError) as caught:
            await client.list()
    message = caught.value.message
    assert "refused the client id or secret" in message
    assert "MPARTICLE_CLIENT_SECRET" in message
    assert "missing" not in message
    assert "(POST oauth token -> 401)" in message


async def test_error_names_the_request_once(tmp_path: Path, emulator: EmulatorServer) -> None:
    settings = resolve(
        tmp_path, SettingsFile(workspace_id=WORKSPACE), environ=env_for(emulator.url)
    )
    async with target.platform(settings) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.get(987654)
    assert "(GET .../calculatedattributes/987654 -> 404)" in caught.value.message
