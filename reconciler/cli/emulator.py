"""The `emulator` command's flags: the local mParticle API stand-in as an HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.app import app, run_command, state_of


@app.command()
def emulator(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8080,
    db: Annotated[Path | None, typer.Option(help="SQLite file (in memory without it).")] = None,
    workspace_id: Annotated[
        int | None, typer.Option(help="The only workspace served (any id without it).")
    ] = None,
    client_id: Annotated[str, typer.Option(help="OAuth client id.")] = "emulator",
    client_secret: Annotated[str, typer.Option(help="OAuth client secret.")] = "emulator",
    api_key: Annotated[str, typer.Option(help="Seeding API key.")] = "emulator",
    api_secret: Annotated[str, typer.Option(help="Seeding API secret.")] = "emulator",
    latency_ms: Annotated[float, typer.Option(help="Added latency per request.")] = 0.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per second before 429.")
    ] = None,
    fault_rate: Annotated[float, typer.Option(help="Share of requests that fail.")] = 0.0,
    fault_seed: Annotated[int | None, typer.Option(help="Seed for reproducible faults.")] = None,
    max_active: Annotated[int, typer.Option(help="Active-CA limit of the account.")] = 100,
    retention_days: Annotated[
        int | None, typer.Option(help="Retention period in days (none without it).")
    ] = None,
    calculation_seconds: Annotated[
        float, typer.Option(help="How long a (re)calculation takes.")
    ] = 30.0,
    token_ttl: Annotated[int, typer.Option(help="OAuth token lifetime in seconds.")] = 28800,
    seed_limit: Annotated[
        float, typer.Option(help="Seeding API limit in batches (users) per second; 0: none.")
    ] = 270.0,
    acceleration_limit: Annotated[
        float,
        typer.Option(help="How much the seeding rate may grow per window, batches/s; 0: none."),
    ] = 0.0,
    live_traffic: Annotated[
        float, typer.Option(help="Share of the seed limit used by simulated live traffic.")
    ] = 0.0,
    limit_window: Annotated[
        float, typer.Option(help="Seconds of the windows the seeding limits measure.")
    ] = 10.0,
    propagation_delay: Annotated[
        float, typer.Option(help="Seconds before a created or changed CA can be seeded.")
    ] = 0.0,
) -> None:
    """Run the local mParticle CA API emulator as an HTTP server."""
    from reconciler.commands import emulator as command
    from reconciler.emulator import EmulatorConfig

    config = EmulatorConfig(
        workspace_id=workspace_id,
        client_id=client_id,
        client_secret=client_secret,
        api_key=api_key,
        api_secret=api_secret,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        fault_rate=fault_rate,
        fault_seed=fault_seed,
        max_active=max_active,
        retention_days=retention_days,
        calculation_seconds=calculation_seconds,
        token_ttl=token_ttl,
        seed_limit=seed_limit,
        acceleration_limit=acceleration_limit,
        live_traffic=live_traffic,
        limit_window=limit_window,
        propagation_delay=propagation_delay,
    )
    options = command.EmulatorOptions(config=config, host=host, port=port, db=db)
    run_command(state_of(ctx), lambda out: command.run(options, out))
