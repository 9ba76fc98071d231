"""The commands against list answers the emulator never gives, from a crafted server on
loopback: one id under two names, which no command may act on (`plan`, `apply`, `export`
and `seed` all read the list). (An unknown audience count the emulator gives: the tests
of prune in test_apply.py.)"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from reconciler import manifest
from tests.support.cli import run_cli
from tests.support.seeds import MANIFESTS, small_user, write_jsonl
from tests.support.servers import Request, Server, json_error, response, running
from tests.support.workspace import SESSIONS, api_definition, ca, env_for, write_manifests

LIST = "/platform/v2/workspaces/1234/calculatedattributes"
#: The message of a list holding id 5 as "Sessions" and as "Visits".
REPEATED = (
    'holds id 5 under 2 names, "Sessions" and "Visits": mParticle keeps ids unique, so the '
    "answer was misread or is damaged, and the reconciler acts on no part of it"
)


def listed(ca_id: int, name: str, **fields: Any) -> dict[str, Any]:
    """An active CA as the list gives it, with `fields` (audience_count among them)."""
    return {
        "id": ca_id,
        "name": name,
        "description": "",
        "active_definition": api_definition(SESSIONS),
        "draft_definition": None,
        "activated_on": "2024-01-01T00:00:00Z",
        **fields,
    }


class Workspace:
    """A server's CAs: the list answers them as they are; a DELETE removes one."""

    def __init__(self, cas: list[dict[str, Any]]) -> None:
        self.cas = cas

    async def answer(self, request: Request, writer: asyncio.StreamWriter) -> None:
        path = request.path.split("?")[0]
        if path == "/oauth/token":
            body = {"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}
            writer.write(response(200, json.dumps(body).encode(), JSON))
        elif request.method == "GET" and path == LIST:
            writer.write(response(200, json.dumps(self.cas).encode(), JSON))
        elif request.method == "DELETE" and path.startswith(f"{LIST}/"):
            gone = int(path.rsplit("/", 1)[1])
            self.cas = [item for item in self.cas if item["id"] != gone]
            writer.write(response(204))
        else:
            writer.write(json_error(405, f"{request.method} {path} is not expected here"))


JSON = {"content-type": "application/json"}


def writes(server: Server) -> list[str]:
    """The requests that would change the workspace, or send seeds."""
    return [
        f"{r.method} {r.path}"
        for r in server.requests
        if r.method != "GET" and r.path != "/oauth/token"
    ]


def env(server: Server) -> dict[str, str]:
    return {**env_for(server.url), "NO_COLOR": "1", "COLUMNS": "1000"}


def said(text: str) -> str:
    return " ".join(text.split())


def repeated() -> Workspace:
    """Id 5 twice, as "Sessions" and as "Visits"."""
    return Workspace(
        [listed(5, "Sessions", audience_count=0), listed(5, "Visits", audience_count=0)]
    )


def test_plan_and_apply_refuse_a_list_holding_one_id_under_two_names(tmp_path: Path) -> None:
    """They planned an update of id 5 as "Sessions" and, with prune, its delete as "Visits"."""
    directory = write_manifests(
        tmp_path / "m", [ca("Sessions", description="Visits")], settings={"prune": True}
    )
    with running(repeated().answer) as server:
        plan = run_cli("plan", directory, env=env(server))
        apply = run_cli("apply", directory, "--auto-approve", "--force", env=env(server))
        assert writes(server) == []
    for result in (plan, apply):
        assert result.exit_code == 1
        assert "the CA list" in result.stderr
        assert REPEATED in said(result.stderr)
        assert "Traceback" not in result.output
    assert "Plan:" not in plan.stdout


def test_export_refuses_a_list_holding_one_id_under_two_names(tmp_path: Path) -> None:
    """It wrote one manifest for each name: two CAs for one, each claiming id 5's seeds."""
    out = tmp_path / "out"
    with running(repeated().answer) as server:
        result = run_cli(
            "export", tmp_path / "none", "--out", out, "--workspace-id", "1234", env=env(server)
        )
    assert result.exit_code == 1
    assert REPEATED in said(result.stderr)
    assert not out.exists() or list(out.iterdir()) == []


def test_seed_refuses_a_list_holding_one_id_under_two_names(tmp_path: Path) -> None:
    """The check before seeding reads the list by name, as seeds are addressed: "LTV" passed
    for a CA the workspace holds, and the seeds were sent."""
    seeds = write_jsonl(tmp_path / "seeds.jsonl", (small_user(index) for index in range(3)))
    (ltv,) = [found for found in manifest.load(MANIFESTS).cas if found.name == "LTV"]
    definition = dict(ltv.ca.definition.canonical)
    workspace = Workspace(
        [
            {"id": 5, "name": "LTV", "active_definition": definition, "audience_count": 0},
            {"id": 5, "name": "LTV v2", "active_definition": definition, "audience_count": 0},
        ]
    )
    with running(workspace.answer) as server:
        result = run_cli(
            "seed",
            seeds,
            MANIFESTS,
            env={
                **env(server),
                "MPARTICLE_S2S_URL": server.url,
                "MPARTICLE_API_KEY": "key",
                "MPARTICLE_API_SECRET": "secret",
                "RECONCILER_TARGET": "mparticle",
            },
        )
        assert writes(server) == []
    assert result.exit_code == 1, result.output
    assert (
        'the CA list holds id 5 under 2 names, "LTV" and "LTV v2": mParticle keeps ids unique'
    ) in said(result.stderr)
