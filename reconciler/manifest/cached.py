"""A CA of a manifest file found free of errors before, as the cache kept it: the facts
planning reads, and the file's data, read and validated into the full model only when
asked for (seeding reads the definition)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from reconciler.manifest import cache, overrides
from reconciler.models import CalculatedAttribute, CanonicalDefinition, Definition

_DEFER_RULES = {"defer_rules": True}
log = logging.getLogger("reconciler.cache")


class CachedItems:
    """The data of a cached file, decoded when a CA of it is first asked for its model;
    the file itself, parsed again (`reparse`), should the entry not decode: an entry that
    is not what this code writes is a miss, never an error."""

    def __init__(self, text: str, display: str, reparse: Callable[[], list[Any]]) -> None:
        self.text = text
        self.display = display
        self._reparse = reparse

    @cached_property
    def items(self) -> list[Any]:
        try:
            items = cache.items(self.text)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            items = None
        return items if isinstance(items, list) else self.parsed

    @cached_property
    def parsed(self) -> list[Any]:
        """The CA items of the file itself."""
        log.debug("the cached data of %s is unusable: reading the file", self.display)
        return self._reparse()


@dataclass(eq=False, slots=True)
class CachedCA:
    """A CA of a file known to be free of errors, as the manifest cache kept it: the facts
    planning reads, stored when the file was validated. The full model (seeding reads the
    definition) is validated from the cached data only when asked for."""

    name: str
    description: str | None
    active: bool
    renamed_from: str | None
    protect: bool
    canonical: CanonicalDefinition
    source: CachedItems = field(repr=False)
    index: int = field(repr=False)
    #: For the CA as an environment's override changes it: that environment.
    environment: str | None = field(default=None, repr=False)
    _model: CalculatedAttribute | None = field(default=None, init=False, repr=False)

    @property
    def model(self) -> CalculatedAttribute:
        if self._model is None:
            try:
                self._model = self._validated(self.source.items)
            except (ValidationError, IndexError, TypeError, AttributeError):
                # Not what this code would have cached: the file itself is the truth.
                self._model = self._validated(self.source.parsed)
        return self._model

    def _validated(self, items: list[Any]) -> CalculatedAttribute:
        data = items[self.index]
        if self.environment is not None:
            data = overrides.variant_data(data, self.environment)
        return CalculatedAttribute.model_validate(data, context=_DEFER_RULES)

    @property
    def definition(self) -> Definition:
        return self.model.definition
