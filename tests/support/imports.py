"""What a module imports, read from its source (relative imports resolved), and what a
fresh interpreter has loaded after running some code: for the layout and start-up tests."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import reconciler

PACKAGE = Path(reconciler.__file__).parent


def module_name(path: Path) -> str:
    """`reconciler/plan/render.py` -> `reconciler.plan.render` (packages by their __init__)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, package: str | None = None) -> list[str]:
    """Absolute names of everything a module imports, and of each name it imports from a
    module (`from a import b` gives `a` and `a.b`: b may be a submodule)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    if package is None:
        name = module_name(path) if path.is_relative_to(PACKAGE) else ""
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
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


def modules(subpackage: str) -> list[Path]:
    """The source files of `reconciler.<subpackage>`."""
    return sorted((PACKAGE / subpackage.replace(".", "/")).rglob("*.py"))


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code` (a name kept out,
    whose sys.modules entry is None, is not loaded)."""
    script = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps(sorted(k for k, v in sys.modules.items() if v is not None)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(loaded)


def within(names: set[str] | list[str], *prefixes: str) -> list[str]:
    """The names that are one of `prefixes` or inside one of them."""
    return sorted(
        name for name in names if any(name == p or name.startswith(p + ".") for p in prefixes)
    )
