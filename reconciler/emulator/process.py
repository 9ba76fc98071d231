"""The emulator as a child process on a free loopback port, for integration tests and
benchmarks: `running(EmulatorProcess, **options)` starts `python -m reconciler emulator
--port 0 ...`, waits for its `listening on` line, and stops it on exit. `EmulatorProcess`
also speaks the emulator's documented test routes (`/_emulator/stats`, tokens); a
subclass may add more, and `running` then returns that kind."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

AUDIENCE = "https://api.mparticle.com"
READY_PREFIX = "listening on "


class EmulatorError(RuntimeError):
    """The emulator process did not start, or a test route refused a request."""


class EmulatorProcess:
    """A running emulator process and its URL."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        url: str,
        stderr_path: Path,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.process = process
        self.url = url
        self.stderr_path = stderr_path
        self.options = dict(options or {})
        self._http = httpx.Client(base_url=url, timeout=30)

    def platform_path(self, workspace_id: int | None = None, suffix: str = "") -> str:
        """`/platform/v2/workspaces/{workspace_id}/calculatedattributes` plus `suffix`
        (the served workspace, else 1234, when `workspace_id` is None)."""
        if workspace_id is None:
            workspace_id = self.options.get("workspace_id") or 1234
        return f"/platform/v2/workspaces/{workspace_id}/calculatedattributes{suffix}"

    def token(self, client_id: str | None = None, client_secret: str | None = None) -> str:
        """A fresh OAuth access token, by default for the server's own client credentials
        (raises if the credentials are refused)."""
        response = self._http.post(
            "/oauth/token",
            json={
                "client_id": client_id or self.options.get("client_id", "emulator"),
                "client_secret": client_secret or self.options.get("client_secret", "emulator"),
                "audience": AUDIENCE,
                "grant_type": "client_credentials",
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to a test route, `/_emulator/<path>`; raises EmulatorError on refusal."""
        response = self._http.request(method, "/_emulator/" + path, **kwargs)
        if response.is_error:
            raise EmulatorError(
                f"{method} /_emulator/{path}: {response.status_code} {response.text}"
            )
        return response

    def stats(self) -> dict[str, Any]:
        """`{"requests": {"<METHOD> <route template>": n}, "total": N, "faults": {...}, ...}`."""
        result: dict[str, Any] = self.control("GET", "stats").json()
        return result

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Send `sig` (SIGTERM by default), wait for the process, return its exit code."""
        self._http.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_pipe()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: the process dies mid-whatever, as in a crash."""
        self._http.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()


Process = TypeVar("Process", bound=EmulatorProcess)


def command(port: int = 0, **options: Any) -> list[str]:
    """The command line of `reconciler emulator` with `options` as flags
    (`latency_ms=5` → `--latency-ms 5`; None values are left out)."""
    line = [sys.executable, "-m", "reconciler", "emulator", "--port", str(port)]
    for name, value in options.items():
        if value is not None:
            line += ["--" + name.replace("_", "-"), str(value)]
    return line


def _wait_for_url(process: subprocess.Popen[bytes], timeout: float, stderr: Path) -> str:
    """The URL of the first stdout line, read without blocking past `timeout`."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buffer = b""
    try:
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorError(f"emulator not ready after {timeout}s: {stderr.read_text()}")
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                process.wait()
                raise EmulatorError(
                    f"emulator exited with {process.returncode}: {stderr.read_text()}"
                )
            buffer += chunk
    finally:
        selector.close()
    line = buffer.split(b"\n", 1)[0].decode()
    if not line.startswith(READY_PREFIX):
        raise EmulatorError(f"unexpected first line from the emulator: {line!r}")
    return line[len(READY_PREFIX) :]


def start(
    kind: type[Process],
    *,
    db: str | Path | None = None,
    startup_timeout: float = 30,
    **options: Any,
) -> Process:
    """Start an emulator subprocess on a free loopback port; the caller must stop it.
    `kind`: the handle to return (a subclass may add helpers for more test routes)."""
    stderr_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
        prefix="emulator-", suffix=".stderr", delete=False
    )
    stderr_path = Path(stderr_file.name)
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        command(db=db, **options), stdout=subprocess.PIPE, stderr=stderr_file, env=env
    )
    stderr_file.close()
    try:
        url = _wait_for_url(process, startup_timeout, stderr_path)
    except BaseException:
        if process.poll() is None:
            process.kill()
        process.wait()
        raise
    return kind(process, url, stderr_path, options)


@contextmanager
def running(
    kind: type[Process],
    *,
    db: str | Path | None = None,
    startup_timeout: float = 30,
    **options: Any,
) -> Iterator[Process]:
    """A running emulator for the duration of the block, stopped (SIGTERM) at exit.

    `options` are the command's flags: workspace_id, client_id, client_secret, api_key,
    api_secret, latency_ms, rate_limit, fault_rate, fault_seed, max_active,
    retention_days, calculation_seconds, token_ttl, host.
    """
    server = start(kind, db=db, startup_timeout=startup_timeout, **options)
    try:
        yield server
    finally:
        server.stop()
        server.stderr_path.unlink(missing_ok=True)
