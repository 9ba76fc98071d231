"""The command line: parses flags, calls one `commands.<name>.run`, turns errors into exit
codes.

`app` (the Typer app, the global flags, the exit codes) is the frame; `options` declares
the parameters commands share; `plans` (validate, test, plan, apply, show, export), `seed`
and `emulator` declare the commands. Only what parsing the command line needs is imported
here (`--help` stays quick); each command's modules, the console and the settings are
imported when it runs.
"""

from __future__ import annotations

# Registering the commands on `app`, in the order `--help` lists them.
# isort: off
from reconciler.cli import plans, seed, emulator

# isort: on
from reconciler.cli.app import GLOBAL_OPTIONS, MAX_WORKSPACE_ID, app, main, tune_collector

__all__ = [
    "GLOBAL_OPTIONS",
    "MAX_WORKSPACE_ID",
    "app",
    "emulator",
    "main",
    "plans",
    "seed",
    "tune_collector",
]
