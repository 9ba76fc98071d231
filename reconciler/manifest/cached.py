"""A CA of a manifest file found free of errors before, as the cache kept it: the facts
planning reads, and the file's data, read and validated into the full model only when
asked for (seeding reads the definition)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from reconciler.errors import Issue, ManifestError
from reconciler.manifest import cache, overrides
from reconciler.models import CalculatedAttribute, CanonicalDefinition, Definition

_DEFER_RULES = {"defer_rules": True}


class CachedItems:
    """The data of a cached file, decoded when a CA of it is first asked for its model."""

    def __init__(self, text: str, display: str) -> None:
        self.text = text
        self.display = display

    @cached_property
    def items(self) -> list[Any]:
        items = cache.items(self.text)
        if not isinstance(items, list):
            raise self.damaged()
        return items

    def damaged(self) -> ManifestError:
        return ManifestError(
            [
                Issue(
                    self.display,
                    None,
                    None,
                    "",
                    "the cached copy of this file is damaged; delete the folder "
                    f"{cache.root()} (or set RECONCILER_CACHE_DIR to an empty string) and "
                    "run again",
                )
            ]
        )


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
                data = self.source.items[self.index]
                if self.environment is not None:
                    data = overrides.variant_data(data, self.environment)
                self._model = CalculatedAttribute.model_validate(data, context=_DEFER_RULES)
            except (ValidationError, IndexError, TypeError, AttributeError):
                raise self.source.damaged() from None
        return self._model

    @property
    def definition(self) -> Definition:
        return self.model.definition
