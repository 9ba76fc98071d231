"""A manifest directory with a few CAs for test-file tests, and a writer of test files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.workspace import PURCHASES, SESSIONS, ca, write_manifests

SEARCHES: dict[str, Any] = {
    "calculation_type": "last_occurrence",
    "datapoint": {
        "event_name": "Search",
        "event_type": "custom_event",
        "custom_event_type": "search",
        "attribute_name": "Term",
    },
    "time_period": {"type": "since", "date": "2024-01-01"},
}
WriteTest = Callable[[str, str], Path]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Manifests with LTV (sum, seedable), Sessions (count, rolling) and Last Term."""
    directory = tmp_path / "manifests"
    write_manifests(
        directory,
        [ca("LTV", PURCHASES), ca("Sessions", SESSIONS), ca("Last Term", SEARCHES)],
    )
    return directory


@pytest.fixture
def write_test(workspace: Path) -> WriteTest:
    def write(name: str, text: str) -> Path:
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write
