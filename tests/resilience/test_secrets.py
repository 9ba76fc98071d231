"""Secrets never leave the process: with the client and API secrets set to marker strings,
no output of any command (stdout, stderr, `--debug` tracebacks and HTTP traces included),
plan file or exported file contains them, whether the command succeeds or fails.

Commands run as real subprocesses, so `--debug` logging reaches a real stderr as it does
for a user (in-process, pytest's own log handlers would swallow it).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.workspace import ca, env_for, write_manifests

CLIENT_SECRET = "cs-Q7x2-MARKER-client-secret"
API_SECRET = "as-Z9k4-MARKER-api-secret"
#: The secrets as they would leak in other forms: in a Basic authorization header.
MARKERS = (
    CLIENT_SECRET,
    API_SECRET,
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


def secret_env(url: str) -> dict[str, str]:
    return {
        **env_for(url),
        "MPARTICLE_CLIENT_SECRET": CLIENT_SECRET,
        "MPARTICLE_API_KEY": "emulator",
        "MPARTICLE_API_SECRET": API_SECRET,
    }


def leaks(text: str) -> list[str]:
    return [marker for marker in MARKERS if marker in text]


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
    assert "retry 1 in" in run.stderr  # the trace that quotes the failed answer
    assert '"client_secret":"***"' in run.stderr
    assert leaks(run.output) == []
