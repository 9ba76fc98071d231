"""`reconciler export` starts each file with the line that gives editors its JSON Schema
(`# yaml-language-server: $schema=...`), where the repository holds `schemas/`, as a
person adds it by hand (README, "Field by field")."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from reconciler.commands.export import MARK
from reconciler.manifest import schema
from reconciler.manifest.document import parse_yaml
from tests.commands.test_export import plan_is_empty
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import PURCHASES, SESSIONS, RawApi, env_for

MODELINE = "# yaml-language-server: $schema="


def named_schema(path: Path) -> Path | None:
    """The schema file the second line of `path` names, read from `path`'s folder as the
    editor reads it; None without such a line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(MARK)
    if not lines[1].startswith(MODELINE):
        return None
    return path.parent / lines[1].removeprefix(MODELINE)


def export(source: Path, out: Path, env: dict[str, str], *flags: str) -> dict[str, bytes]:
    result = run_cli("export", source, "--out", out, "--workspace-id", "1234", *flags, env=env)
    assert result.exit_code == 0, result.output
    return {path.name: path.read_bytes() for path in out.iterdir()}


def test_an_export_into_a_repository_names_its_schemas_where_they_are(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """`reconciler export --out manifests/` at the root of a repository: no line naming a
    file that is not there (the editor would flag every file), so none without
    `schemas/`, none for one above the repository (another clone would not have it), and
    none for another tool's `manifest.schema.json`. Once `python -m
    reconciler.manifest.schema` has written them at the root, each file names the schema of
    its kind, by a path that leads there from the file, and satisfies it. Either way the
    export plans empty, and an export over it writes the same bytes."""
    raw.activate(raw.create("LTV", PURCHASES, description="Lifetime value\nper user"))
    raw.create("Sessions", SESSIONS)
    env = env_for(emulator.url)
    schema.write(tmp_path / "schemas")  # above the repository
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "schemas").mkdir()
    (root / "schemas" / "manifest.schema.json").write_text('{"$id": "https://example.com/m"}')
    out = root / "manifests"
    written = export(tmp_path, out, env)
    assert sorted(written) == ["ltv.yaml", "reconciler.yaml", "sessions.yaml"]
    assert [named_schema(out / name) for name in sorted(written)] == [None, None, None]
    plan_is_empty(out, env)
    schema.write(root / "schemas")
    for out, up in ((root / "manifests", "../"), (root / "teams" / "growth", "../../")):
        first = export(tmp_path, out, env, "--force")
        assert sorted(first) == ["ltv.yaml", "reconciler.yaml", "sessions.yaml"]
        for name in first:
            kind = "settings" if name == "reconciler.yaml" else "manifest"
            path = out / name
            assert path.read_text().splitlines()[1] == f"{MODELINE}{up}schemas/{kind}.schema.json"
            named = named_schema(path)
            assert named is not None
            assert named.resolve() == (root / "schemas" / f"{kind}.schema.json").resolve()
            data = json.loads(json.dumps(parse_yaml(path.read_text(), name).data, default=str))
            jsonschema.validate(data, json.loads(named.read_text()))
        plan_is_empty(out, env)
        assert export(tmp_path, out, env, "--force") == first
