"""Seeding: historical seed values into mParticle through the Calculated Attributes Seeding API.

The flow, one module a step: `reader` streams the file (JSONL, or CSV through `columns`),
`validate` checks each user against the `catalogue` of the manifests and the `shapes`
table of the seeding page, `batches` spools the valid users and cuts them into requests,
`preflight` checks (one list request) that the workspace will take seeds for every CA the
file seeds, `delivery` sends the batches through `sender` (bisecting refusals) at the rate
the `governor` sets (users per second, under the ceiling on the server's percentage used),
waiting out CAs the Seeding API does not know yet (`propagation`), while `checkpoint`
remembers what landed; `pipeline` runs it all and fills the `report`.

Programmatic use: `seed(SeedOptions(file=...), Catalogue.from_manifests(...), settings,
observer)` returns a `SeedReport` (per-CA counts in `users_by_ca` / `refused_by_ca`);
`await seed_async(...)` does the same on the caller's event loop. `SeedOptions(only=...)`
sends only the seeds of some CAs (`apply --seeds` sends each group at its moment, each
with its own checkpoint). The parts stand alone too: `Governor` paces any sender,
`PropagationWait` waits for any CA, `preflight.check` reads the workspace once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.seeding.pipeline import SeedOptions, seed, seed_async
    from reconciler.seeding.report import SeedReport


def __getattr__(name: str) -> Any:
    # The pipeline (rich's progress bars, the sender) is imported on first use, so that a
    # module needing one step (`shapes` for test files) costs a plan no more
    # (docs/performance.md).
    if name in ("SeedOptions", "seed", "seed_async"):
        from reconciler.seeding import pipeline

        return getattr(pipeline, name)
    if name == "SeedReport":
        from reconciler.seeding.report import SeedReport

        return SeedReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SeedOptions", "SeedReport", "seed", "seed_async"]
