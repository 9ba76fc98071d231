"""The JSON Schema of test files (`schemas/test.schema.json`), generated from the models,
for editors (completion, checks as you type). Regenerate with
`python -m reconciler.testfiles.schema` (into `schemas/` of the current directory from an
installed package); a test fails when the committed one is stale."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reconciler.manifest.schema import BASE_URL, default_directory
from reconciler.testfiles.model import SuiteFile

NAME = "test.schema.json"


def generate() -> str:
    """The schema's text."""
    schema = SuiteFile.model_json_schema(mode="validation")
    # Top-level `x-...` keys hold YAML anchors (shared events), as in manifests.
    schema["patternProperties"] = {"^x-": {}}
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_URL}/{NAME}",
        **schema,
        "title": "reconciler test file (*.test.yaml)",
    }
    return json.dumps(schema, indent=2) + "\n"


def write(directory: Path | None = None) -> Path:
    directory = default_directory() if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / NAME
    path.write_text(generate(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write(Path(sys.argv[1]) if len(sys.argv) > 1 else None)}")
