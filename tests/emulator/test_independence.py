"""The emulator is an oracle written from the API docs: no module under
`reconciler/emulator/` may import the reconciler outside EMULATOR_MAY_IMPORT: itself, and
`reconciler.evaluator`, the reference evaluator of CA semantics, which imports nothing else
of the reconciler (tests/evaluator/test_rules.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.imports import imports, loaded_after, modules, within

#: What of the reconciler the emulator may import: itself, and packages that are written
#: from the docs as independently as it is: the evaluator computes the profile values
#: (Events API + seeds) from the docs' semantics, as the emulator would itself.
EMULATOR_MAY_IMPORT = ("reconciler.emulator", "reconciler.evaluator")


def _ours(names: list[str] | set[str]) -> list[str]:
    return [
        name for name in within(names, "reconciler") if not within([name], *EMULATOR_MAY_IMPORT)
    ]


def test_emulator_imports_nothing_of_the_reconciler() -> None:
    sources = modules("emulator")
    assert len(sources) > 5
    offending = [f"{path.name}: {name}" for path in sources for name in _ours(imports(path))]
    assert offending == []


def test_importing_the_emulator_loads_nothing_else_of_ours() -> None:
    loaded = loaded_after("import reconciler.emulator.app, reconciler.emulator.server")
    assert _ours(loaded - {"reconciler"}) == []


def test_the_check_catches_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import reconciler.models\nfrom reconciler import errors\nfrom .. import planner\n"
        "from . import store\nfrom reconciler.emulator import app\n"
    )
    names = imports(sample, package="reconciler.emulator")
    assert "reconciler.models" in names
    assert "reconciler.errors" in names
    assert "reconciler.planner" in names
    assert "reconciler.emulator.store" in names
    assert sorted(set(_ours(names))) == [
        "reconciler",
        "reconciler.errors",
        "reconciler.models",
        "reconciler.planner",
    ]


def test_the_allowance_is_exactly_the_evaluator() -> None:
    assert _ours(["reconciler.evaluator", "reconciler.evaluator.values"]) == []
    assert sorted(_ours(["reconciler.evaluators", "reconciler.models", "reconciler"])) == [
        "reconciler",
        "reconciler.evaluators",
        "reconciler.models",
    ]
