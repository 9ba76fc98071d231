"""Secrets never leave the process: with the client and API secrets set to marker strings,
no output of any command (stdout, stderr, `--debug` tracebacks and HTTP traces included),
plan file, exported file, seeding rejects file or checkpoint contains them, whether the
command succeeds or fails.

With `--debug` commands run as real subprocesses, so that logging reaches a real stderr as
it does for a user (in-process, pytest's own log handlers would swallow it).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StartEmulator
from tests.seeding.conftest import FAST_RATE
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.seeds import MANIFESTS as SEEDING_MANIFESTS
from tests.support.seeds import create_workspace, users, write_jsonl
from tests.support.servers import Request, json_error, response, running
from tests.support.workspace import RawApi, ca, env_for, write_manifests

CLIENT_SECRET = "cs-Q7x2-MARKER-client-secret"
API_SECRET = "as-Z9k4-MARKER-api-secret"
#: A client secret the token endpoint refuses, and one another auth server accepts.
WRONG_SECRET = "ws-P3v8-MARKER-wrong-secret"
OTHER_SECRET = "os-L5n1-MARKER-other-secret"
MARKERS = (
    CLIENT_SECRET,
    API_SECRET,
    WRONG_SECRET,
    OTHER_SECRET,
    # The API secret as it travels: inside a Basic authorization header.
    base64.b64encode(f"emulator:{API_SECRET}".encode()).decode(),
)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def reconciler(*args: str | Path, env: dict[str, str]) -> Run:
    """`python -m reconciler ARGS` in a subprocess with `env` over a clean environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    process = subprocess.run(
        [sys.executable, "-m", "reconciler", *map(str, args)],
        env={**clean, "NO_COLOR": "1", "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(process.returncode, process.stdout, process.stderr)


#: The seeding manifests' CAs live in a workspace of their own on the emulator (seeds match
#: a CA of any workspace), away from the one the CA commands change.
SEEDING_WORKSPACE = 4321


def secret_env(url: str) -> dict[str, str]:
    return {
        **env_for(url),
        "MPARTICLE_S2S_URL": url,
        "MPARTICLE_CLIENT_SECRET": CLIENT_SECRET,
        "MPARTICLE_API_KEY": "emulator",
        "MPARTICLE_API_SECRET": API_SECRET,
        "RECONCILER_SEED_RATE": FAST_RATE,
    }


def leaks(text: str) -> list[str]:
    return [marker for marker in MARKERS if marker in text]


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _EchoingGateway(BaseHTTPRequestHandler):
    """A misconfigured auth URL: a gateway that fails with 502 and quotes the request body
    in its error (which holds the client secret)."""

    def do_POST(self) -> None:
        sent = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        body = json.dumps({"errors": [{"message": f"upstream refused: {sent}"}]}).encode()
        self.send_response(502)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the reconciler's output, not the gateway's."""


@pytest.fixture
def echoing_gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_debug_http_traces_redact_what_a_server_echoes(
    echoing_gateway: str, tmp_path: Path
) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    env = {**secret_env(echoing_gateway), "RECONCILER_RETRY_ATTEMPTS": "2"}
    run = reconciler("--debug", "plan", directory, env=env)
    assert run.code == 1
    assert "retrying 2/2 POST" in run.stderr  # the trace that quotes the failed answer
    assert '"client_secret":"***"' in run.stderr
    assert leaks(run.output) == []


@dataclass
class Session:
    """Runs commands one after another, checking each exit code, and keeps every output.

    With `debug`, each runs as `python -m reconciler --debug ...` so that its HTTP traces
    reach a real stderr; without, in-process.
    """

    debug: bool
    env: dict[str, str]
    outputs: list[tuple[str, str]]

    def run(self, expect: int, *args: str | Path, env: dict[str, str] | None = None) -> Run:
        merged = {**self.env, **(env or {})}
        if self.debug:
            run = reconciler("--debug", *args, env=merged)
        else:  # in-process is faster, and without --debug nothing depends on the process
            result = run_cli(*args, env=merged)
            run = Run(result.exit_code, result.stdout, result.stderr)
        shown = " ".join(map(str, args))
        assert run.code == expect, f"reconciler {shown}: {run.output}"
        assert "Traceback" not in run.output or self.debug, run.output
        self.outputs.append((shown, run.output))
        return run


def files_leaking(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            found += [f"{path}: {marker}" for marker in MARKERS if marker in text]
    return found


def _manifest_commands(session: Session, work: Path, bad: Path, out: Path) -> None:
    session.run(0, "validate", work)
    write_manifests(bad, [{"name": "X", "definition": {"calculation_type": "sum"}}])
    (bad / "reconciler.yaml").write_text(
        f"workspace_id: 1234\nclient_secret: {CLIENT_SECRET}\napi_secret: {API_SECRET}\n"
    )
    # Without the secrets in the environment nothing could redact them: the messages
    # themselves must not quote the values found in the file.
    unset = {"MPARTICLE_CLIENT_SECRET": "", "MPARTICLE_API_SECRET": ""}
    session.run(1, "validate", bad, env=unset)
    session.run(1, "plan", bad, env=unset)

    for fmt in ("text", "markdown", "json"):
        session.run(0, "plan", work, "--format", fmt, "--out", out / f"plan-{fmt}.json")
    session.run(2, "plan", work, "--detailed-exitcode")
    session.run(1, "apply", work)  # no terminal, no --auto-approve
    session.run(0, "apply", "--plan", out / "plan-json.json", work)
    session.run(0, "apply", work, "--auto-approve")
    session.run(0, "export", work, "--out", out / "export")


def _failures(session: Session, server: EmulatorServer, work: Path, out: Path) -> None:
    """A stale plan, a business rule (422) mid-apply, under faults too."""
    write_manifests(work, [ca("A"), ca("B", description="changed"), ca("C"), ca("D")])
    session.run(0, "plan", work, "--out", out / "stale.json")
    session.run(0, "apply", work, "--auto-approve", "--concurrency", "1")
    session.run(1, "apply", "--plan", out / "stale.json", work)
    write_manifests(work, [ca(f"CA {n}") for n in range(6)])
    server.settings(max_active=3, fault_rate=0.3)
    refused = session.run(1, "apply", work, "--auto-approve", "--force", "--format", "json")
    assert json.loads(refused.stdout)["status"] == "failed"
    assert "account limit" in session.run(1, "apply", work, "--auto-approve", "--force").stdout
    server.settings(max_active=100)
    session.run(0, "apply", work, "--auto-approve", "--force")
    server.settings(fault_rate=0)


def _credential_errors(session: Session, work: Path, auth_elsewhere: EmulatorServer) -> None:
    """A refused secret (401 at the token endpoint), a token the API refuses (403), and
    nothing listening."""
    session.run(1, "plan", work, env={"MPARTICLE_CLIENT_SECRET": WRONG_SECRET})
    session.run(
        1,
        "plan",
        work,
        env={
            "MPARTICLE_CLIENT_SECRET": OTHER_SECRET,
            "MPARTICLE_AUTH_URL": f"{auth_elsewhere.url}/oauth/token",
        },
    )
    closed = secret_env(f"http://127.0.0.1:{unused_port()}")
    session.run(1, "plan", work, env={**closed, "RECONCILER_RETRY_ATTEMPTS": "3"})


def _seeding(session: Session, server: EmulatorServer, tmp_path: Path, out: Path) -> None:
    """The API secret travels in a Basic header; invalid users, a user the server refuses,
    the CAs checked first (Platform API), rejects file, checkpoint, resume, 403."""
    create_workspace(server.url, server.token(), SEEDING_WORKSPACE)
    in_workspace = {"MPARTICLE_WORKSPACE_ID": str(SEEDING_WORKSPACE)}
    bodies: list[Any] = list(users(120))
    bodies[3]["calculated_attributes"]["workspace"][0]["seed"]["value"] = "lots"
    server.refuse_seeds(bodies[7]["mpid"])  # a user only the server refuses
    seeds = write_jsonl(tmp_path / "seeds.jsonl", bodies)
    seeding = (
        "seed", seeds, SEEDING_MANIFESTS, "--batch-size", "25", "--skip-invalid",
        "--rejects", out / "rejects.jsonl", "--checkpoint", out / "seeds.checkpoint",
    )  # fmt: skip
    # An invalid user: nothing is sent.
    session.run(1, "seed", seeds, SEEDING_MANIFESTS, env=in_workspace)
    session.run(0, "seed", seeds, SEEDING_MANIFESTS, "--dry-run", "--skip-invalid")
    server.settings(fault_rate=0.3)
    session.run(0, *seeding, env=in_workspace)
    session.run(0, *seeding, env=in_workspace)  # resumed from the checkpoint: nothing to send
    server.settings(fault_rate=0)
    assert len((out / "rejects.jsonl").read_text().splitlines()) == 2
    unauthorised = (*seeding[:3], "--skip-invalid", "--rejects", out / "rejects-403.jsonl")
    session.run(1, *unauthorised, env={**in_workspace, "MPARTICLE_API_SECRET": WRONG_SECRET})


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_no_command_reveals_a_secret(
    debug: bool, start_emulator: StartEmulator, tmp_path: Path
) -> None:
    server = start_emulator(client_secret=CLIENT_SECRET, api_secret=API_SECRET, fault_seed=11)
    auth_elsewhere = start_emulator(client_secret=OTHER_SECRET)
    work = write_manifests(tmp_path / "work", [ca("A"), ca("B", description="b")])
    out = tmp_path / "out"
    out.mkdir()
    session = Session(debug, secret_env(server.url), [])

    _manifest_commands(session, work, tmp_path / "bad", out)
    _failures(session, server, work, out)
    _credential_errors(session, work, auth_elsewhere)
    _seeding(session, server, tmp_path, out)

    texts = "\n".join(output for _, output in session.outputs)
    for expected in (
        "-> 401",
        "-> 403",
        "the connection was refused",
        "plan is stale",
        "the Seeding API refused the credentials (HTTP 403",
    ):
        assert expected in texts
    if debug:
        assert "reconciler.http: retrying" in texts  # HTTP traces were on, with retries
    assert [(command, leaks(output)) for command, output in session.outputs if leaks(output)] == []
    assert files_leaking(work) + files_leaking(out) == []


def test_text_that_happens_to_be_the_secret_is_data_and_stays_exact(
    emulator: EmulatorServer, raw: RawApi, tmp_path: Path
) -> None:
    """The README's own secret is `emulator`: a description naming the emulator must go
    through a saved JSON plan into the workspace as written, and stay converged."""
    described = "Tested on the emulator twice"
    directory = write_manifests(tmp_path / "m", [ca("A", description=described)])
    env = env_for(emulator.url)
    assert env["MPARTICLE_CLIENT_SECRET"] == "emulator"
    planned = run_cli("plan", directory, "--format", "json", env=env)
    assert planned.exit_code == 0, planned.output
    assert described in planned.stdout
    saved = tmp_path / "p.json"
    saved.write_text(planned.stdout)
    applied = run_cli("apply", "--plan", saved, directory, env=env)
    assert applied.exit_code == 0, applied.output
    assert raw.by_name()["A"]["description"] == described
    again = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output


def test_a_short_secret_does_not_garble_the_output(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    server = start_emulator(client_secret="ion")
    directory = write_manifests(tmp_path, [ca("Promotion clicks")])
    env = {**env_for(server.url), "MPARTICLE_CLIENT_SECRET": "ion"}
    result = run_cli("plan", directory, env=env)
    assert result.exit_code == 0, result.output
    assert "Reconciler will perform these actions" in result.stdout
    assert '+ create "Promotion clicks"' in result.stdout


ESCAPED_SECRET = 'cs"Q7\\x2-MARKER-escaped'


def test_a_secret_echoed_json_escaped_is_hidden(echoing_gateway: str, tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    env = {
        **secret_env(echoing_gateway),
        "MPARTICLE_CLIENT_SECRET": ESCAPED_SECRET,
        "RECONCILER_RETRY_ATTEMPTS": "2",
    }
    result = run_cli("plan", directory, env=env)
    assert result.exit_code == 1
    assert "upstream refused" in result.stderr  # the echo is shown, its secret is not
    escaped = json.dumps(ESCAPED_SECRET)[1:-1]
    assert ESCAPED_SECRET not in result.output
    assert escaped not in result.output
    assert "MARKER" not in result.output


def test_a_gateway_echoing_the_seeding_authorization_leaks_nowhere(tmp_path: Path) -> None:
    """A proxy that refuses every bulk request quoting its headers: the Basic token (the
    API key and secret) must reach neither stderr, nor the rejects file, nor the checkpoint."""

    async def echo(request: Request, writer: asyncio.StreamWriter) -> None:
        quoted = f"bad request; you sent Authorization: {request.headers['authorization']}"
        writer.write(json_error(400, quoted))

    token = base64.b64encode(f"emulator:{API_SECRET}".encode()).decode()
    seeds = write_jsonl(tmp_path / "seeds.jsonl", users(3))
    rejects, checkpoint = tmp_path / "rejects.jsonl", tmp_path / "seeds.checkpoint"
    with running(echo) as gateway:
        # Without Platform API credentials the CAs are not checked first: the seeds go
        # straight to the gateway.
        env = {**secret_env(gateway.url), "MPARTICLE_CLIENT_ID": "", "MPARTICLE_CLIENT_SECRET": ""}
        result = run_cli(
            "seed", seeds, SEEDING_MANIFESTS, "--skip-invalid", "--rejects", rejects,
            "--checkpoint", checkpoint, env=env,
        )  # fmt: skip
        assert gateway.requests, "the gateway was reached"
    # --skip-invalid, and every user refused: nobody landed, so the run fails (issue 12).
    assert result.exit_code == 1, result.output
    assert "no user was seeded: 3 user(s) were refused" in result.output, result.output
    assert "you sent Authorization: Basic ***" in rejects.read_text()
    for text in (result.output, rejects.read_text(), checkpoint.read_text()):
        assert token not in text
        assert API_SECRET not in text


BEARER_TOKEN = "bt-K8w3-MARKER-bearer-token"


async def _issuing_then_echoing(request: Request, writer: asyncio.StreamWriter) -> None:
    """A token endpoint that issues BEARER_TOKEN, behind a gateway that refuses every API
    call quoting its Authorization header, in the error and in a header of its own."""
    if request.path.startswith("/oauth"):
        token = json.dumps({"access_token": BEARER_TOKEN, "expires_in": 3600}).encode()
        writer.write(response(200, token, {"content-type": "application/json"}))
        return
    quoted = request.headers["authorization"]
    writer.write(json_error(400, f"bad header: {quoted}", {"x-echo": quoted}))


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_bearer_token_echoed_back_is_hidden(debug: bool, tmp_path: Path) -> None:
    """The token the token endpoint issues opens the API as the secret does: a gateway
    quoting the Authorization header showed it in the error (and --debug, in the trace)."""
    directory = write_manifests(tmp_path, [ca("A")])
    with running(_issuing_then_echoing) as gateway:
        env = {**secret_env(gateway.url), "RECONCILER_RETRY_ATTEMPTS": "1"}
        if debug:
            run = reconciler("--debug", "plan", directory, env=env)
        else:
            result = run_cli("plan", directory, env=env)
            run = Run(result.exit_code, result.stdout, result.stderr)
    assert run.code == 1
    assert "bad header: Bearer ***" in run.stderr
    assert BEARER_TOKEN not in run.output


def test_a_create_answer_quoting_the_token_is_hidden(tmp_path: Path) -> None:
    """A create answered without an id is quoted in the apply report: its secrets too."""

    async def quoting(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path.startswith("/oauth") or request.method != "POST":
            await _issuing_then_echoing(request, writer)
            return
        said = json.dumps({"you sent": request.headers["authorization"]}).encode()
        writer.write(response(200, said, {"content-type": "application/json"}))

    async def lists_nothing(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.method == "GET":
            writer.write(response(200, b"[]", {"content-type": "application/json"}))
        else:
            await quoting(request, writer)

    directory = write_manifests(tmp_path, [ca("A")])
    with running(lists_nothing) as gateway:
        env = {**secret_env(gateway.url), "RECONCILER_RETRY_ATTEMPTS": "1"}
        result = run_cli("apply", directory, "--auto-approve", env=env)
    assert result.exit_code == 1
    assert "create answered without an id" in result.output
    assert "Bearer ***" in result.output
    assert BEARER_TOKEN not in result.output
