"""What pyproject.toml declares is what the installed package needs at run time."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import files
from pathlib import Path

from packaging.requirements import Requirement

from tests.support.imports import PACKAGE, imports

ROOT = Path(__file__).resolve().parents[1]
#: Imported, not declared: pydantic's own core, whose exact version pydantic pins.
BROUGHT_BY_ANOTHER = {"pydantic_core"}


def dependencies() -> list[Requirement]:
    """`[project] dependencies` of pyproject.toml (a list of strings, comment lines aside)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r"^dependencies = \[\n(.*?)^\]", text, re.DOTALL | re.MULTILINE)
    assert found is not None
    lines = [line for line in found[1].splitlines() if not line.strip().startswith("#")]
    return [Requirement(spec) for spec in ast.literal_eval("[" + "\n".join(lines) + "]")]


def test_every_module_the_package_imports_is_declared() -> None:
    # The top-level names each declared distribution installs, read from its files (the
    # Python 3.10 packages_distributions() misses those without a top_level.txt).
    declared = {
        file.parts[0].partition(".")[0]
        for requirement in dependencies()
        for file in files(requirement.name) or []
    }
    undeclared = set()
    for path in PACKAGE.rglob("*.py"):
        for name in imports(path):
            top = name.partition(".")[0]
            if top in {"reconciler", "__future__", *BROUGHT_BY_ANOTHER, *sys.stdlib_module_names}:
                continue
            if top not in declared:
                undeclared.add(f"{top} ({path.relative_to(ROOT)})")
    assert not undeclared, f"imported but not in [project] dependencies: {sorted(undeclared)}"


def test_the_typer_floor_is_a_release_the_cli_runs_on() -> None:
    """Found by installing releases: 0.12.0 to 0.12.3 refuse `str | None` parameters at
    start; 0.12.4 to 0.27.1 lack `typer.TyperException`, which every failed run's exit
    code is judged by (a traceback instead of the error); 0.27.2 and 0.27.3 take an
    option's metavar as its name (`emulator --PORT`, `--port` refused)."""
    (typer,) = (requirement for requirement in dependencies() if requirement.name == "typer")
    assert not typer.specifier.contains("0.27.3")
    assert typer.specifier.contains("0.28.0")


def test_no_httpx_1_pre_release_is_allowed() -> None:
    """httpx 1.0.dev has no ASGITransport (the embedded emulator's): with `pip install
    --pre`, plan, apply and export ended in "unexpected AttributeError ... This is a bug"."""
    (httpx,) = (requirement for requirement in dependencies() if requirement.name == "httpx")
    assert not httpx.specifier.contains("1.0.dev6", prereleases=True)
    assert httpx.specifier.contains("0.28.1")


def test_the_sdist_holds_every_folder_of_the_project() -> None:
    """A packager runs the tests from the sdist: they read tests/support, the docs, the
    example manifests and workflows, and the schemas (setuptools alone took 20 of the
    test files and none of the rest)."""
    lines = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    grafted = {line.split()[1] for line in lines if line.startswith("graft ")}
    folders = {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and (path.name == ".ci" or not path.name.startswith("."))
    }
    left = folders - grafted - {"reconciler", "reconciler.egg-info", "build", "dist"}
    assert not left, f"MANIFEST.in leaves out {sorted(left)}"
    assert "include LICENSE README.md action.yml .pre-commit-hooks.yaml" in lines


def test_the_version_is_written_once() -> None:
    """`reconciler --version` and the package's metadata read the same line."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in text
    assert 'version = { attr = "reconciler.__version__" }' in text
    assert not re.search(r'^version = "', text, re.MULTILINE)
