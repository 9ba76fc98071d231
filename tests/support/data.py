"""Small helpers for JSON-shaped test data."""

from __future__ import annotations

import copy
from typing import Any


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A deep copy of `value` with the item at `path` (keys and indexes) set to `new`."""
    if not path:
        return new
    result = copy.deepcopy(value)
    target = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return result
