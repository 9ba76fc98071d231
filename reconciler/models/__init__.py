"""CA models: desired (manifest, strict), live (API, tolerant), and their one canonical form.

All normalisation lives in this package; the planner only compares canonical values.
"""

from reconciler.models.canonical import (
    CanonicalCondition,
    CanonicalDatapoint,
    CanonicalDefinition,
    CanonicalTimePeriod,
    canonical_definition,
    fingerprint,
)
from reconciler.models.definition import (
    CalculatedAttribute,
    Condition,
    Datapoint,
    DeclaredCA,
    Definition,
    ManifestFile,
    Problem,
    Seeding,
    TimePeriod,
)
from reconciler.models.live import LiveCA, LiveDefinition

__all__ = [
    "CalculatedAttribute",
    "CanonicalCondition",
    "CanonicalDatapoint",
    "CanonicalDefinition",
    "CanonicalTimePeriod",
    "Condition",
    "Datapoint",
    "DeclaredCA",
    "Definition",
    "LiveCA",
    "LiveDefinition",
    "ManifestFile",
    "Problem",
    "Seeding",
    "TimePeriod",
    "canonical_definition",
    "fingerprint",
]
