"""Seeding: historical seed values into mParticle through the Calculated Attributes Seeding API.

The flow, one module a step: `reader` streams the file (JSONL, or CSV through `columns`),
`validate` checks each user against the `catalogue` of the manifests and the `shapes`
table of the seeding page, `batches` spools the valid users and cuts them into requests,
`sender` sends and bisects, `checkpoint` remembers what landed; `pipeline` runs the two
passes and fills the `report`.
"""

from reconciler.seeding.pipeline import SeedOptions, seed
from reconciler.seeding.report import SeedReport

__all__ = ["SeedOptions", "SeedReport", "seed"]
