"""The emulator is an oracle written from the API docs: no module under
`reconciler/emulator/` may import the reconciler outside `reconciler.emulator`, with one
named allowance: `reconciler.evaluator`, the reference evaluator of CA semantics, which
itself imports nothing else of the reconciler (tests/evaluator/test_rules.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import reconciler.emulator

PACKAGE = Path(reconciler.emulator.__file__).parent
#: Packages the emulator may import besides its own: the evaluator computes the profile
#: values (Events API + seeds) from the docs' semantics, as the emulator would itself.
ALLOWED = ("reconciler.emulator", "reconciler.evaluator")


def _allowed(name: str) -> bool:
    return any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED)


def _imports(path: Path, package: str = "reconciler.emulator") -> list[str]:
    """Absolute names of everything a module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return names


def test_emulator_imports_nothing_of_the_reconciler() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 5
    offending = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in modules
        for name in _imports(path)
        if (name == "reconciler" or name.startswith("reconciler.")) and not _allowed(name)
    ]
    assert offending == []


def test_the_check_catches_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import reconciler.models\nfrom reconciler import errors\nfrom .. import planner\n"
        "from . import store\nfrom reconciler.emulator import app\n"
    )
    names = _imports(sample)
    assert "reconciler.models" in names
    assert "reconciler.errors" in names
    assert "reconciler.planner" in names
    assert "reconciler.emulator.store" in names
    assert [name for name in names if not _allowed(name) and name.startswith("reconciler")]


def test_the_allowance_is_exactly_the_evaluator() -> None:
    assert _allowed("reconciler.evaluator")
    assert _allowed("reconciler.evaluator.values")
    assert not _allowed("reconciler.evaluators")
    assert not _allowed("reconciler.models")
    assert not _allowed("reconciler")
