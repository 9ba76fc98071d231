"""The applier against the emulator server, for races the command line cannot stage: the
live workspace changes between the plan and its apply (another run, the UI)."""

from __future__ import annotations

from pathlib import Path

from reconciler import applier
from reconciler.api import transports as target
from reconciler.models import CalculatedAttribute
from reconciler.plan import planner
from reconciler.settings import SettingsFile, resolve
from tests.support.emulator import EmulatorServer
from tests.support.workspace import SESSIONS, WORKSPACE, RawApi, ca, env_for

PUT = "PUT /platform/v2/workspaces/{workspace_id}/calculatedattributes/{id}"
ACTIVATION = "POST /platform/v2/workspaces/{workspace_id}/calculatedattributes/{id}/activation"


async def test_adopted_ca_already_active_as_wanted_is_not_activated_again(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """Two applies of one plan race: the other run created and activated the CA first. Ours
    adopts it as is; re-sending the draft and activating again would restart a calculation
    that takes hours on the real API."""
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    plan = planner.plan(desired, [], planner.PlanOptions(workspace_id=WORKSPACE))
    assert [a.action for a in plan.actions] == ["create", "activate"]
    ca_id = raw.create("A", SESSIONS)
    raw.activate(ca_id)
    before = emulator.stats()["requests"]
    file = SettingsFile(workspace_id=WORKSPACE)
    settings = resolve(tmp_path, file, environ=env_for(emulator.url))
    async with target.platform(settings) as client:
        report = await applier.apply(plan, client)
    assert report.ok, report.to_json()
    assert report.outcomes[0].adopted
    assert report.outcomes[0].id == ca_id
    after = emulator.stats()["requests"]
    assert after.get(PUT, 0) == before.get(PUT, 0)
    assert after[ACTIVATION] - before[ACTIVATION] <= 1  # tried once, found it active
    calculation = raw.http.get(f"{raw.base}/{ca_id}/calculation").json()
    assert calculation["revision_id"] == 1
