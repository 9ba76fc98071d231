"""The `emulator` command's flags: the local mParticle API stand-in as an HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.app import MAX_WORKSPACE_ID, app, run_command, state_of
from reconciler.cli.options import finite_number, path, ranged, whole_number

#: About 31 years: never expired for a test's purposes, and far below the 64-bit integers
#: a token's `expires_in` is written in (a longer one answered every token request 500).
MAX_TOKEN_TTL = 1_000_000_000
#: A century: the dates `retention_days` reaches back to stay dates (a longer one answered
#: a `since` time period with 500).
MAX_RETENTION_DAYS = 36_500


def _host(text: str) -> str:
    """The parser of --host: the system reads an empty host as every interface, so the
    emulator, with its default credentials, would answer the whole network (named as
    `http://:8080`); a blank one names no interface either."""
    if not text.strip():
        why = "would listen on every interface" if text == "" else "names no interface"
        raise typer.BadParameter(
            f"{text!r} {why}; name one (the default is 127.0.0.1; 0.0.0.0 listens on every "
            "interface on purpose)"
        )
    return text


#: Every credential's default: the embedded target's, which the README's examples use.
CREDENTIAL = "emulator"


def _credential(text: str) -> str:
    """The parser of a credential flag: the reconciler reads an empty credential as unset
    (MPARTICLE_CLIENT_ID=""), so no client could ever sign in to an emulator that wants
    one. A credential of spaces is sent as it is, and taken."""
    if text == "":
        raise typer.BadParameter(
            "'' is a credential no client can send (the reconciler reads an empty one as "
            f"unset); name one (the default is {CREDENTIAL})"
        )
    return text


_HostOption = Annotated[
    str, typer.Option(metavar="HOST", parser=_host, help="Interface to listen on.")
]
_PortOption = Annotated[
    int,
    typer.Option(
        metavar="PORT",
        parser=whole_number(0, 65535),
        help=f"Port ({ranged(0, 65535)}; 0 picks a free one).",
    ),
]
_DbOption = Annotated[
    Path | None,
    typer.Option(metavar="FILE", parser=path, help="SQLite file (in memory without it)."),
]
_WorkspaceIdOption = Annotated[
    int | None,
    typer.Option(
        metavar="ID",
        parser=whole_number(1, MAX_WORKSPACE_ID),
        help="The only workspace served (any id without it).",
    ),
]
_ClientIdOption = Annotated[
    str, typer.Option(metavar="ID", parser=_credential, help="OAuth client id.")
]
_ClientSecretOption = Annotated[
    str,
    typer.Option(metavar="SECRET", parser=_credential, help="OAuth client secret."),
]
_ApiKeyOption = Annotated[
    str, typer.Option(metavar="KEY", parser=_credential, help="Seeding API key.")
]
_ApiSecretOption = Annotated[
    str,
    typer.Option(metavar="SECRET", parser=_credential, help="Seeding API secret."),
]
_LatencyMsOption = Annotated[
    float,
    typer.Option(
        metavar="MS",
        parser=finite_number(0),
        help=f"Added latency per request, in milliseconds ({ranged(0)}).",
    ),
]
_RateLimitOption = Annotated[
    float | None,
    typer.Option(
        metavar="N",
        parser=finite_number(above=0),
        help=f"Requests per second before 429 ({ranged(above=0)}; no limit without it).",
    ),
]
_FaultRateOption = Annotated[
    float,
    typer.Option(
        metavar="SHARE",
        parser=finite_number(0, 1),
        help=f"Share of requests that fail ({ranged(0, 1)}).",
    ),
]
_FaultSeedOption = Annotated[
    int | None,
    typer.Option(metavar="N", parser=whole_number(), help="Seed for reproducible faults."),
]
_MaxActiveOption = Annotated[
    int,
    typer.Option(
        metavar="N",
        parser=whole_number(0),
        help=f"Active-CA limit of the account ({ranged(0)}).",
    ),
]
_RetentionDaysOption = Annotated[
    int | None,
    typer.Option(
        metavar="DAYS",
        parser=whole_number(0, MAX_RETENTION_DAYS),
        help=f"Retention period in days ({ranged(0, MAX_RETENTION_DAYS)}; none without it).",
    ),
]
_CalculationSecondsOption = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        parser=finite_number(0),
        help=f"How long a (re)calculation takes ({ranged(0)}).",
    ),
]
_TokenTtlOption = Annotated[
    int,
    typer.Option(
        metavar="SECONDS",
        parser=whole_number(1, MAX_TOKEN_TTL),
        help=f"OAuth token lifetime in seconds ({ranged(1, MAX_TOKEN_TTL)}).",
    ),
]
_SeedLimitOption = Annotated[
    float,
    typer.Option(
        metavar="N",
        parser=finite_number(0),
        help=f"Seeding API limit in batches (users) per second ({ranged(0)}; 0: none).",
    ),
]
_AccelerationLimitOption = Annotated[
    float,
    typer.Option(
        metavar="N",
        parser=finite_number(0),
        help=f"How much the seeding rate may grow per window, batches/s ({ranged(0)}; 0: none).",
    ),
]
_LiveTrafficOption = Annotated[
    float,
    typer.Option(
        metavar="SHARE",
        parser=finite_number(0, below=1),
        help=f"Share of the seed limit used by simulated live traffic ({ranged(0, below=1)}).",
    ),
]
_LimitWindowOption = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        parser=finite_number(above=0),
        help=f"Seconds of the windows the seeding limits measure ({ranged(above=0)}).",
    ),
]
_PropagationDelayOption = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        parser=finite_number(0),
        help=f"Seconds before a created or changed CA can be seeded ({ranged(0)}).",
    ),
]


@app.command()
def emulator(
    ctx: typer.Context,
    *,
    host: _HostOption = "127.0.0.1",
    port: _PortOption = 8080,
    db: _DbOption = None,
    workspace_id: _WorkspaceIdOption = None,
    client_id: _ClientIdOption = CREDENTIAL,
    client_secret: _ClientSecretOption = CREDENTIAL,
    api_key: _ApiKeyOption = CREDENTIAL,
    api_secret: _ApiSecretOption = CREDENTIAL,
    latency_ms: _LatencyMsOption = 0,
    rate_limit: _RateLimitOption = None,
    fault_rate: _FaultRateOption = 0,
    fault_seed: _FaultSeedOption = None,
    max_active: _MaxActiveOption = 100,
    retention_days: _RetentionDaysOption = None,
    calculation_seconds: _CalculationSecondsOption = 30,
    token_ttl: _TokenTtlOption = 28800,
    seed_limit: _SeedLimitOption = 270,
    acceleration_limit: _AccelerationLimitOption = 0,
    live_traffic: _LiveTrafficOption = 0,
    limit_window: _LimitWindowOption = 10,
    propagation_delay: _PropagationDelayOption = 0,
) -> None:
    """Run the local mParticle API emulator.

    The CA and Seeding APIs, as an HTTP server.
    """
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
