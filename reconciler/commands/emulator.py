"""`reconciler emulator`: runs the local mParticle CA API emulator as an HTTP server and
prints `listening on http://HOST:PORT` once it accepts connections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.console import Output
from reconciler.emulator import EmulatorConfig
from reconciler.emulator.server import bind, serve, url_of


@dataclass(frozen=True)
class EmulatorOptions:
    """The command's flags."""

    host: str = "127.0.0.1"
    port: int = 8080
    db: Path | None = None
    workspace_id: int | None = None
    client_id: str = "emulator"
    client_secret: str = "emulator"
    api_key: str = "emulator"
    api_secret: str = "emulator"
    latency_ms: float = 0.0
    rate_limit: float | None = None
    fault_rate: float = 0.0
    fault_seed: int | None = None
    max_active: int = 100
    retention_days: int | None = None
    calculation_seconds: float = 30.0
    token_ttl: int = 28800

    def config(self) -> EmulatorConfig:
        return EmulatorConfig(
            workspace_id=self.workspace_id,
            client_id=self.client_id,
            client_secret=self.client_secret,
            api_key=self.api_key,
            api_secret=self.api_secret,
            latency_ms=self.latency_ms,
            rate_limit=self.rate_limit,
            fault_rate=self.fault_rate,
            fault_seed=self.fault_seed,
            max_active=self.max_active,
            retention_days=self.retention_days,
            calculation_seconds=self.calculation_seconds,
            token_ttl=self.token_ttl,
        )


def _check(options: EmulatorOptions) -> str | None:
    if not 0 <= options.fault_rate <= 1:
        return "--fault-rate must be between 0 and 1"
    if options.rate_limit is not None and options.rate_limit <= 0:
        return "--rate-limit must be positive"
    for flag, value in (
        ("--latency-ms", options.latency_ms),
        ("--max-active", options.max_active),
        ("--calculation-seconds", options.calculation_seconds),
        ("--token-ttl", options.token_ttl),
        ("--retention-days", options.retention_days or 0),
    ):
        if value < 0:
            return f"{flag} must not be negative"
    return None


def run(options: EmulatorOptions, output: Output) -> int:
    """Serve until SIGINT/SIGTERM; 0 on a clean stop, 1 if the options or the port are bad."""
    problem = _check(options)
    if problem is not None:
        output.error(problem)
        return 1
    try:
        sock = bind(options.host, options.port)
    except OSError as exc:
        output.error(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}")
        return 1

    def ready(port: int) -> None:
        output.write_raw(f"listening on {url_of(options.host, port)}\n")

    serve(options.config(), sock, db_path=options.db, on_ready=ready)
    return 0
