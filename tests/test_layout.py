"""The import contract of the package's rooms, and what starting the CLI loads.

Read from the source (AST: every import a module writes) and, where the real question is
what a process ends up loading, from a fresh interpreter's sys.modules.
"""

from __future__ import annotations

from pathlib import Path

from reconciler import cli, settings
from tests.support.imports import PACKAGE, imports, loaded_after, module_name, modules, within
from tests.support.readme import section

#: What `reconciler --help` must not load: the network, the event loop, the server,
#: progress bars, the emulator (none of them is needed to print help).
NOT_FOR_HELP = (
    "httpx",
    "asyncio",  # 25 ms; the SIGTERM handler's module once brought it to every command
    "deepdiff",
    "starlette",
    "uvicorn",
    "rich.progress",
    "reconciler.emulator",
    "reconciler.settings",  # its models: a flag's range is written in the command line
)
#: What `reconciler validate` (offline) must not load.
NOT_FOR_VALIDATE = ("httpx", "starlette", "uvicorn", "deepdiff")
MAX_TOP_LEVEL_MODULES = 8


def written(subpackage: str, *forbidden: str) -> list[str]:
    """`module: import` for every import of `forbidden` written in `subpackage`."""
    return [
        f"{module_name(path)}: {name}"
        for path in modules(subpackage)
        for name in within(set(imports(path)), *forbidden)
    ]


def test_few_modules_sit_at_the_top() -> None:
    top = sorted(
        p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    )
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_the_readme_layout_names_every_part_of_the_package() -> None:
    """Development's layout table names each top-level module and each sub-package, so
    that one added at the top is placed in the map a contributor reads first."""
    table = section("## Development").split("| part | what it holds |", 1)[1]
    named = {
        cell.strip("`")
        for row in table.splitlines()
        if row.startswith("| `")
        for cell in row.split(" | ", 1)[0][2:].split(", ")
    }
    top = {p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    packages = {f"{p.parent.name}/" for p in PACKAGE.glob("*/__init__.py")}
    assert sorted(top - named) == []
    assert sorted(packages - named) == []


def test_planning_imports_no_network() -> None:
    assert written("plan", "httpx", "reconciler.api") == []
    loaded = loaded_after(
        "import reconciler.plan.planner, reconciler.plan.render, reconciler.plan.safety\n"
        "import reconciler.plan.report_text, reconciler.plan.markdown"
    )
    assert within(loaded, "httpx", "reconciler.api") == []


def test_models_know_nothing_of_manifest_files() -> None:
    assert written("models", "reconciler.manifest") == []
    assert within(loaded_after("import reconciler.models"), "reconciler.manifest") == []


def test_no_command_imports_another() -> None:
    commands = {module_name(path) for path in modules("commands")} - {"reconciler.commands"}
    assert len(commands) >= 5
    found = [
        f"{module_name(path)}: {name}"
        for path in modules("commands")
        for name in within(set(imports(path)), *commands)
        if name != module_name(path)
    ]
    assert found == []


def test_the_check_sees_from_imports() -> None:
    names = imports(PACKAGE / "commands" / "apply.py")
    assert "reconciler.applier" in names
    assert "reconciler.plan.render" in names


def test_help_loads_nothing_it_does_not_need() -> None:
    loaded = loaded_after(
        "from reconciler.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "reconciler.cli" in loaded
    assert within(loaded, *NOT_FOR_HELP) == []


def test_the_seed_flags_take_the_ranges_the_settings_take() -> None:
    """cli/seed.py writes the ranges out so that --help loads no settings model."""
    from reconciler.cli import seed as seed_flags
    from reconciler.settings import file

    assert (seed_flags.MIN_SEED_RATE, seed_flags.MAX_SEED_RATE) == (
        file.MIN_SEED_RATE,
        file.MAX_SEED_RATE,
    )
    assert (seed_flags.MIN_SEED_RATE_CEILING, seed_flags.MAX_SEED_RATE_CEILING) == (
        file.MIN_SEED_RATE_CEILING,
        file.MAX_SEED_RATE_CEILING,
    )


def test_validate_loads_no_network_and_no_server() -> None:
    loaded = loaded_after(
        "from reconciler.cli import app\n"
        "try:\n    app(['validate', 'manifests'])\n"
        "except SystemExit as exc:\n    assert exc.code == 0"
    )
    assert "reconciler.manifest.loader" in loaded
    assert within(loaded, *NOT_FOR_VALIDATE) == []
    # libyaml composes through PyYAML; ruamel's constructor reads only rarer scalars
    # (times, other bases), which the example's manifests do not write.
    assert within(loaded, "ruamel") == []


def test_manifests_from_the_cache_load_no_yaml_library(tmp_path: Path) -> None:
    load = (
        f"import os\nos.environ['RECONCILER_CACHE_DIR'] = {str(tmp_path)!r}\n"
        "from pathlib import Path\nfrom reconciler.manifest import loader\n"
        "assert loader.load(Path('manifests')).cas\n"
    )
    assert "yaml" in loaded_after(load)  # the first load parses the files and keeps them
    assert within(loaded_after(load), "yaml", "ruamel", "reconciler.manifest.composing") == []


def test_the_cli_bounds_workspace_ids_as_the_settings_do() -> None:
    assert cli.MAX_WORKSPACE_ID == settings.MAX_WORKSPACE_ID


def test_a_plan_without_seeds_loads_no_seeding_pipeline() -> None:
    # The example's test files need one step of seeding (`shapes`), not the pipeline.
    loaded = loaded_after("from reconciler.commands import plan\nimport reconciler.testfiles")
    assert "reconciler.seeding.shapes" in loaded
    assert within(loaded, "reconciler.seeding.pipeline", "reconciler.workspace.seeds") == []


def test_a_plan_does_not_load_the_command_line_of_httpx() -> None:
    # httpx imports its own CLI (with pygments' lexer table) when its extras are installed,
    # as they are beside typer; the CLI keeps it out. Only what an API command needs.
    loaded = loaded_after("import reconciler.cli\nfrom reconciler.commands import plan")
    assert "httpx" in loaded
    assert within(loaded, "httpx._main", "pygments", "rich.syntax", "rich.progress") == []


def test_the_worker_machinery_is_imported_only_when_workers_start() -> None:
    # Workers pay only on a first load of much YAML (`parallel.worth`); a plan imports
    # none of their machinery before deciding to start them.
    loaded = loaded_after("import reconciler.cli\nfrom reconciler.commands import plan")
    assert within(loaded, "multiprocessing", "concurrent.futures.process") == []
