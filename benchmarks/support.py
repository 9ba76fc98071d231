"""What the benchmarks share: a workspace of N CAs (in an emulator process, and as
manifests on disk), the environment that points the CLI at it, and timing by median.

The emulator runs as its own process (reconciler.emulator.process), as it does for the
integration tests, so that a benchmark never shares an interpreter with the server.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reconciler.emulator.process import EmulatorProcess, running  # noqa: E402

WORKSPACE = 1234
LIST = "GET /platform/v2/workspaces/{workspace_id}/calculatedattributes"
TOKEN = "POST /oauth/token"


def definition(n: int) -> dict[str, Any]:
    """CA number `n`'s definition, in a shape both a manifest and the API take as it is."""
    return {
        "recipe_type": "event",
        "calculation_type": ["count", "sum", "max", "most_frequent"][n % 4],
        "datapoint": {
            "type": "event",
            "event_name": f"Event {n % 50}",
            "event_type": "custom_event",
            "custom_event_type": "other",
            "attribute_name": "Amount",
        },
        "conditions": [
            {
                "type": "number",
                "operator": "greater_than",
                "attribute_name": "Step",
                "value": str(n),
            },
            {
                "type": "string",
                "operator": "in_list",
                "attribute_name": "Channel",
                "values": ["web", "ios"],
            },
        ],
        "time_period": {"type": "within", "within": n % 90 + 1, "within_unit": "days"},
    }


def ca_name(n: int) -> str:
    return f"CA {n:05d}"


async def _populate(server: EmulatorProcess, count: int) -> None:
    headers = {"authorization": f"Bearer {server.token()}"}
    base = server.url + server.platform_path()
    transport = httpx.AsyncHTTPTransport(retries=3)
    async with httpx.AsyncClient(headers=headers, timeout=60, transport=transport) as client:
        semaphore = asyncio.Semaphore(32)

        async def one(n: int) -> None:
            async with semaphore:
                body = {"name": ca_name(n), "description": "", "draft_definition": definition(n)}
                response = await client.post(base, json=body)
                response.raise_for_status()
                ca_id = response.json()
                (await client.post(f"{base}/{ca_id}/activation")).raise_for_status()

        await asyncio.gather(*(one(n) for n in range(count)))


def populate(server: EmulatorProcess, count: int) -> None:
    """Create and activate CAs 0 .. count-1 through the API, 32 at a time."""
    asyncio.run(_populate(server, count))


def write_manifests(directory: Path, count: int, per_file: int = 100) -> Path:
    """Manifests of CAs 0 .. count-1 (1% with a new description: a plan with changes), as
    block-style YAML in files of `per_file` CAs, the way a team would keep them."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text(f"workspace_id: {WORKSPACE}\n")
    for start in range(0, count, per_file):
        cas = []
        for n in range(start, min(count, start + per_file)):
            item: dict[str, Any] = {"name": ca_name(n), "definition": definition(n)}
            if n % 100 == 0:
                item["description"] = "changed"
            cas.append(item)
        with (directory / f"cas-{start // per_file:04d}.yaml").open("w") as file:
            yaml.dump({"calculated_attributes": cas}, file)
    return directory


def cli_env(url: str, **extra: str) -> dict[str, str]:
    """The process environment of a CLI run against the emulator at `url`."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    return keep | {
        "MPARTICLE_API_URL": url,
        "MPARTICLE_AUTH_URL": f"{url}/oauth/token",
        "MPARTICLE_CLIENT_ID": "emulator",
        "MPARTICLE_CLIENT_SECRET": "emulator",
        "NO_COLOR": "1",
        **extra,
    }


@contextmanager
def emulator(**options: Any) -> Iterator[EmulatorProcess]:
    """An emulator process serving workspace 1234 for the block."""
    with running(EmulatorProcess, **options) as server:
        yield server


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def process(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run a process to its end, output discarded; a failure stops the benchmark."""
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    if done.returncode not in (0, 2):
        raise SystemExit(
            f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-2000:]}"
        )
