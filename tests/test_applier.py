"""The applier against the emulator server, for races the command line cannot stage: the
live workspace changes between the plan and its apply (another run, the UI)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from reconciler import applier
from reconciler.api import transports as target
from reconciler.commands.apply import _step_counter
from reconciler.console import Heartbeat, Output
from reconciler.models import CalculatedAttribute, LiveCA
from reconciler.plan import planner
from reconciler.plan.report import ApplyReport
from reconciler.plan.report_text import outcome_title, report_text
from reconciler.plan.value import Plan
from reconciler.settings import SettingsFile, resolve
from tests.support.emulator import EmulatorServer
from tests.support.platform import Sleeps, mocked_client
from tests.support.ui_fields import ui_fields
from tests.support.workspace import PURCHASES, SESSIONS, WORKSPACE, RawApi, ca, env_for


class RawLive:
    """The live CAs as the planner reads them, fetched by the raw hand."""

    def __init__(self, raw: RawApi) -> None:
        self.raw = raw

    def all(self) -> list[LiveCA]:
        return [LiveCA.model_validate(item) for item in self.raw.list()]


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


async def _apply(tmp_path: Path, emulator: EmulatorServer, plan: Plan) -> ApplyReport:
    file = SettingsFile(workspace_id=WORKSPACE)
    settings = resolve(tmp_path, file, environ=env_for(emulator.url))
    async with target.platform(settings) as client:
        return await applier.apply(plan, client)


# The docs name the business rules by their messages only: every status they may come with
# is tried, the usual one (400 for a taken name, 422 for the others) and the other two.
RULE_STATUSES = [400, 409, 422]


@pytest.mark.parametrize("status", RULE_STATUSES)
async def test_a_name_taken_meanwhile_is_adopted_whatever_the_status(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi, status: int
) -> None:
    """Another run created the CA between our plan and our create: "must be unique"."""
    emulator.settings(business_rule_status=status)
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    plan = planner.plan(desired, [], planner.PlanOptions(workspace_id=WORKSPACE))
    ca_id = raw.create("A", SESSIONS)
    report = await _apply(tmp_path, emulator, plan)
    assert report.ok, report.to_json()
    assert report.outcomes[0].adopted
    assert report.outcomes[0].id == ca_id
    assert raw.get(ca_id)["active_definition"] is not None
    # No answer was lost: the report does not blame one (another run took the name).
    title = outcome_title(report.outcomes[0])
    assert title.endswith(
        "(adopted: its name was taken since the plan, by another run or a retry of this one)"
    )
    assert report.to_json()["actions"][0]["adopted"] == "name_taken"  # and in the JSON report


async def test_a_ca_adopted_with_fields_the_models_do_not_know_says_its_update_dropped_them(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """Someone made the CA in the UI between our plan and our create, its draft holding a
    field newer than the docs: the plan could not warn of it, so the step says it went."""
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    plan = planner.plan(desired, [], planner.PlanOptions(workspace_id=WORKSPACE))
    ca_id = raw.create("A", PURCHASES)
    with ui_fields(emulator.url) as ui:
        ui.set(ca_id, "draft_definition", filter_mode="all")
        settings = resolve(tmp_path, SettingsFile(workspace_id=WORKSPACE), environ=env_for(ui.url))
        async with target.platform(settings) as client:
            report = await applier.apply(plan, client)
        assert ui.fields == {}  # the manifest's draft replaced it, then went into use
    assert report.ok, report.to_json()
    assert outcome_title(report.outcomes[0]) == (
        f'create "A" (id {ca_id}) (adopted: its name was taken since the plan, by another run '
        "or a retry of this one); it held fields the reconciler does not know "
        "(draft_definition.datapoint.filter_mode): writing the manifest's definition "
        "replaced the definition and dropped them"
    )
    # With --format json, where stdout is the report alone, stderr warns of it as it ends.
    stderr = io.StringIO()
    output = Output(no_color=True, stdout=io.StringIO(), stderr=stderr)
    _step_counter(output, len(plan.actions), Heartbeat(clock=lambda: 0))(report.outcomes[0])
    assert stderr.getvalue() == f"Warning: {outcome_title(report.outcomes[0])}\n"


@pytest.mark.parametrize("status", RULE_STATUSES)
async def test_an_activation_done_meanwhile_is_seen_whatever_the_status(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi, status: int
) -> None:
    """The draft was activated between our plan and our activation: "No draft definition
    was found to activate" means done, once the CA is re-read."""
    emulator.settings(business_rule_status=status)
    ca_id = raw.create("A", SESSIONS)
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    live = RawLive(raw).all()
    plan = planner.plan(desired, live, planner.PlanOptions(workspace_id=WORKSPACE))
    assert [a.action for a in plan.actions] == ["activate"]
    raw.activate(ca_id)
    before = emulator.stats()["requests"][ACTIVATION]
    report = await _apply(tmp_path, emulator, plan)
    assert report.ok, report.to_json()
    assert emulator.stats()["requests"][ACTIVATION] - before == 1


@pytest.mark.parametrize("status", RULE_STATUSES)
async def test_the_active_limit_fails_clearly_whatever_the_status(
    tmp_path: Path, emulator: EmulatorServer, status: int
) -> None:
    emulator.settings(business_rule_status=status, max_active=0)
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    plan = planner.plan(desired, [], planner.PlanOptions(workspace_id=WORKSPACE))
    report = await _apply(tmp_path, emulator, plan)
    assert not report.ok
    create, activate = report.outcomes
    assert (create.status, activate.status) == ("done", "failed")
    assert activate.message.startswith(
        "the account's limit on active calculated attributes is reached"
    )
    assert "You have reached the account limit on active calculated attributes." in (
        activate.message
    )
    assert f"-> {status}" in activate.message
    assert emulator.stats()["requests"][ACTIVATION] == 1  # refused once, never retried


async def test_a_create_whose_answer_was_lost_is_adopted_as_a_lost_answer(
    emulator: EmulatorServer, raw: RawApi
) -> None:
    """A create that took effect but answered 500: the CA found by name is our own, and
    the report says the answer was lost (not that someone else took the name)."""
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    plan = planner.plan(desired, [], planner.PlanOptions(workspace_id=WORKSPACE))
    created: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "t" * 20, "expires_in": 3600})
        if request.method == "POST" and request.url.path.endswith("/calculatedattributes"):
            created.append(json.dumps(raw.get(raw.create("A", SESSIONS))).encode())
            return httpx.Response(500)
        if request.method == "GET" and created:
            return httpx.Response(200, content=b"[" + created[0] + b"]")
        return httpx.Response(204)

    client = mocked_client(answer, workspace_id=WORKSPACE, sleep=Sleeps())
    try:
        report = await applier.apply(plan, client)
    finally:
        await client.aclose()
    assert len(created) == 1
    assert report.outcomes[0].adopted
    assert outcome_title(report.outcomes[0]).endswith("(adopted: it existed after a lost answer)")
    assert report.to_json()["actions"][0]["adopted"] == "lost_answer"
    # The summary counts what the step said on its own line, as the JSON report does.
    assert str(report_text(report)[0]) == (
        "Apply complete: 2 done (adopted: 1 after a lost answer)."
    )
    assert report.to_json()["adopted"] == {"lost_answer": 1, "name_taken": 0}


async def test_an_activation_lost_again_and_again_waits_longer_between_tries(
    emulator: EmulatorServer, raw: RawApi
) -> None:
    """A server in trouble for a moment (a 500 that did not activate, three times): each
    try again waits its back-off, as a retry does, instead of five tries in a blink."""
    ca_id = raw.create("A", SESSIONS)
    stored = json.dumps(raw.get(ca_id)).encode()  # a draft, not active
    live = RawLive(raw).all()
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    plan = planner.plan(desired, live, planner.PlanOptions(workspace_id=WORKSPACE))
    assert [a.action for a in plan.actions] == ["activate"]
    refusals = 3

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal refusals
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "t" * 20, "expires_in": 3600})
        if request.method == "POST" and request.url.path.endswith("/activation"):
            if refusals:
                refusals -= 1
                return httpx.Response(500)
            return httpx.Response(204)
        return httpx.Response(200, content=stored)

    sleeps = Sleeps()
    client = mocked_client(answer, workspace_id=WORKSPACE, sleep=sleeps)
    try:
        report = await applier.apply(plan, client)
    finally:
        await client.aclose()
    assert report.ok, report.to_json()
    assert len(sleeps.waits) == 3, sleeps.waits  # one before each try again, none at first


COLLECTION = "/platform/v2/workspaces/1234/calculatedattributes"
SHOWN = "https://api.example/platform/.../calculatedattributes"


def _create_and_activate_a() -> Plan:
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    plan = planner.plan(desired, [], planner.PlanOptions(workspace_id=WORKSPACE))
    assert [a.action for a in plan.actions] == ["create", "activate"]
    return plan


def _server(
    seen: list[str], *answers: Callable[[httpx.Request], httpx.Response]
) -> Callable[[httpx.Request], httpx.Response]:
    """A Platform API that issues tokens, then answers each request with the next of
    `answers` (the last one again and again), recording `METHOD path` in `seen`."""
    left = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "t" * 20, "expires_in": 3600})
        seen.append(f"{request.method} {request.url.path}")
        return (left.pop(0) if len(left) > 1 else left[0])(request)

    return answer


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("All connection attempts failed", request=request)


def _timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectTimeout("timed out", request=request)


def _hung_up(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def _unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"errors": [{"message": "Service unavailable."}]})


def _created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=7)


async def _applied(plan: Plan, answer: Callable[[httpx.Request], httpx.Response]) -> ApplyReport:
    client = mocked_client(answer, workspace_id=WORKSPACE, sleep=Sleeps())
    try:
        return await applier.apply(plan, client)
    finally:
        await client.aclose()


def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The retry notices said, up to the wait (`retrying 2/3 create "A" (POST ...)`)."""
    said = [record.getMessage() for record in caplog.records]
    return [line.split(" in ")[0] for line in said if line.startswith("retrying ")]


@pytest.mark.parametrize("failure", [_refused, _timed_out])
async def test_a_create_that_never_left_this_machine_fails_as_itself_unlooked_for(
    failure: Callable[[httpx.Request], httpx.Response], caplog: pytest.LogCaptureFixture
) -> None:
    """A server gone mid-apply: every attempt of the create failed to connect, so the POST
    never left and the CA cannot exist. It used to be looked up by name all the same (a
    dozen more attempts against the dead server), and the step failed with the GET of
    that look-up, as if the create had been one."""
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="reconciler.http"):
        report = await _applied(_create_and_activate_a(), _server(seen, failure))
    create, activate = report.outcomes
    assert (create.status, activate.status) == ("failed", "not_started")
    assert seen == [f"POST {COLLECTION}"] * 3  # another host's refusal: three tries
    assert f"(POST {SHOWN})" in create.message
    assert "GET" not in create.message
    assert create.message.endswith("(gave up after 3 attempts)")
    assert not create.adopted
    assert _retries(caplog) == [
        f'retrying 2/3 create "A" (POST {SHOWN})',
        f'retrying 3/3 create "A" (POST {SHOWN})',
    ]


@pytest.mark.parametrize(
    ("create", "create_said"),
    [
        # Cut off once sent: it may have been carried out (not retried: a create).
        pytest.param(
            [_hung_up],
            f"the connection was lost before the answer came (RemoteProtocolError) (POST {SHOWN}): "
            "Server ",
            id="hung-up-once-sent",
        ),
        # A 503 reached the server, then the server was gone.
        pytest.param(
            [_unavailable, _refused],
            f"the connection was refused (POST {SHOWN}): All ",
            id="503-then-refused",
        ),
    ],
)
async def test_a_create_that_may_have_landed_is_looked_up_and_both_failures_are_said(
    create: list[Callable[[httpx.Request], httpx.Response]],
    create_said: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Some attempt of the create may have reached the server: it is looked up by name
    before anything more is sent (no duplicates, ever). When the look-up fails too, the
    step fails with the create's own error, and says the look-up failed as well."""
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="reconciler.http"):
        report = await _applied(_create_and_activate_a(), _server(seen, *create, _refused))
    failed = report.outcomes[0]
    assert failed.status == "failed"
    # The look-up, a check after a lost answer, gets every attempt of the policy (another
    # host's refusal alone gets three): the server was reached a moment ago.
    assert seen[-12:] == [f"GET {COLLECTION}"] * 12
    assert failed.message.startswith(create_said), failed.message
    assert (
        f"; looking it up by name failed too: the connection was refused (GET {SHOWN}): All "
        "connection attempts failed (gave up after 12 attempts)"
    ) in failed.message
    assert failed.message.count("GET") == 1
    assert _retries(caplog)[-2:] == [
        f'retrying 11/12 look up "A" by name (GET {SHOWN})',
        f'retrying 12/12 look up "A" by name (GET {SHOWN})',
    ]


async def test_an_activation_that_never_left_this_machine_is_not_read_back() -> None:
    """An activation refused at every attempt did not happen: the CA is not read back to
    see whether it did, and the step fails with the activation's own request."""
    seen: list[str] = []
    report = await _applied(_create_and_activate_a(), _server(seen, _created, _refused))
    create, activate = report.outcomes
    assert (create.status, activate.status) == ("done", "failed")
    assert seen == [f"POST {COLLECTION}"] + [f"POST {COLLECTION}/7/activation"] * 3
    assert activate.message.startswith(f"the connection was refused (POST {SHOWN}/7/activation)")
    assert "GET" not in activate.message


async def test_checks_after_lost_answers_that_time_out_are_tried_as_often_as_any_retry(
    emulator: EmulatorServer, raw: RawApi, caplog: pytest.LogCaptureFixture
) -> None:
    """The create and the activation are each carried out, their answers lost to a timeout;
    the look-up by name and the read-back then time out twice each before answering. A
    timed-out read had two attempts (a hung server's second chance), so the look-up failed
    the step, and the apply, though the CA was there, created once, as planned."""
    plan = _create_and_activate_a()
    ids: list[int] = []
    slow = {"GET": 2}  # the look-up's and the read-back's timeouts still to come

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "t" * 20, "expires_in": 3600})
        if request.method == "POST":
            if path.endswith("/activation"):
                raw.activate(ids[0])
                slow["GET"] = 2
            else:
                ids.append(raw.create("A", SESSIONS))
            raise httpx.ReadTimeout("timed out", request=request)  # carried out, unanswered
        if slow["GET"]:
            slow["GET"] -= 1
            raise httpx.ReadTimeout("timed out", request=request)
        if path.endswith("/calculatedattributes"):
            return httpx.Response(200, json=[raw.get(ids[0])])
        return httpx.Response(200, json=raw.get(ids[0]))

    with caplog.at_level(logging.DEBUG, logger="reconciler.http"):
        report = await _applied(plan, answer)
    assert report.ok, report.to_json()
    assert report.outcomes[0].adopted_because == "lost_answer"
    assert len(ids) == 1  # created once: nothing is created twice
    assert _retries(caplog) == [
        f'retrying 2/12 look up "A" by name (GET {SHOWN})',
        f'retrying 3/12 look up "A" by name (GET {SHOWN})',
        f'retrying 2/12 read "A" back (GET {SHOWN}/{ids[0]})',
        f'retrying 3/12 read "A" back (GET {SHOWN}/{ids[0]})',
    ]
    # Apply, then plan is empty: the CA is active as planned, and only once.
    live = RawLive(raw).all()
    assert [found.name for found in live] == ["A"]
    desired = [CalculatedAttribute.model_validate(ca("A"))]
    assert planner.plan(desired, live, planner.PlanOptions(workspace_id=WORKSPACE)).empty
