"""Live state: a CA as the Platform API returns it. Tolerant: unknown fields are ignored,
missing ones are None, and both spellings of the data point key are read.

`LiveCA.canonical` reduces it to the same form as a manifest definition (models.canonical).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from reconciler.models.canonical import CanonicalDefinition, canonical_definition, fingerprint


class _Live(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class LiveCondition(_Live):
    type: str | None = None
    operator: str | None = None
    attribute_name: str | None = None
    value: Any = None
    values: list[Any] | None = None
    min_value: Any = None
    max_value: Any = None


class LiveDatapoint(_Live):
    type: str | None = None
    event_name: str | None = None
    event_type: str | None = None
    custom_event_type: str | None = None
    attribute_name: str | None = None
    attribute_category: str | None = None
    use_product_quantity: bool | None = None


class LiveTimePeriod(_Live):
    type: str | None = None
    date: Any = None
    within: Any = None
    within_unit: str | None = None


class LiveSeeding(_Live):
    cutoff_date: Any = None


class LiveDefinition(_Live):
    recipe_type: str | None = None
    datapoint: LiveDatapoint | None = Field(
        default=None, validation_alias=AliasChoices("datapoint", "data_point")
    )
    conditions: list[LiveCondition] | None = None
    calculation_type: str | None = None
    time_period: LiveTimePeriod | None = None
    seeding: LiveSeeding | None = None

    @cached_property
    def canonical(self) -> CanonicalDefinition:
        return canonical_definition(self)


class LiveCA(_Live):
    """One CA of the list or single GET."""

    id: int
    name: str
    description: str | None = None
    active_definition: LiveDefinition | None = None
    draft_definition: LiveDefinition | None = None
    audience_count: int | None = None
    activated_on: str | None = None
    activated_by: str | None = None
    created_on: str | None = None
    last_modified_on: str | None = None
    last_modified_by: str | None = None

    @property
    def was_activated(self) -> bool:
        """Names are read-only once a CA has been activated (even if later edited)."""
        return self.active_definition is not None or bool(self.activated_on)

    @cached_property
    def active(self) -> CanonicalDefinition | None:
        return self.active_definition.canonical if self.active_definition else None

    @cached_property
    def draft(self) -> CanonicalDefinition | None:
        """The pending draft; a draft equal to the active definition counts as no draft."""
        if self.draft_definition is None:
            return None
        draft = self.draft_definition.canonical
        return None if draft == self.active else draft

    @property
    def description_text(self) -> str:
        return self.description or ""

    @cached_property
    def fingerprint(self) -> str:
        """Digest of everything a plan decides on: name, description, definitions, audiences."""
        return fingerprint(
            {
                "name": self.name,
                "description": self.description_text,
                "active": self.active,
                "draft": self.draft,
                "audience_count": self.audience_count or 0,
            }
        )
