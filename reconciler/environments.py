"""Environments (SPEC §7): which ones `reconciler.yaml` defines, which one a command works
on (`--env`, RECONCILER_ENV, default_environment), an environment's settings layered over
the top level's, and the rules across environments (promotion sources, credential names).
Part of settings resolution (`settings.resolve`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from reconciler.errors import ReconcilerError, SettingsError
from reconciler.settings import (
    ALL_ENVIRONMENTS,
    EnvironmentSettings,
    SettingsFile,
    environment_prefix,
)


def environment_names(file: SettingsFile) -> list[str]:
    """The environments of `reconciler.yaml`, in the order written (none: one unnamed)."""
    return list(file.environments or {})


def _did_you_mean(word: str, names: list[str]) -> str:
    from reconciler.manifest.diagnostics import suggest  # the manifest package imports us

    hint = suggest(word, names)
    return f"did you mean `{hint}`? " if hint else ""


def unknown_environment(word: str, names: list[str]) -> str:
    """The message for an environment name that is not defined (with did-you-mean)."""
    if not names:
        return f"unknown environment `{word}`: reconciler.yaml defines no environments"
    return (
        f"unknown environment `{word}`; {_did_you_mean(word, names)}"
        f"reconciler.yaml defines {', '.join(names)}"
    )


def requested_environment(requested: str | None, environ: Mapping[str, str] | None = None) -> str:
    """What `--env` (else RECONCILER_ENV) asks for; empty when neither is given."""
    env = os.environ if environ is None else environ
    return requested or env.get("RECONCILER_ENV", "").strip()


def chosen_environments(
    file: SettingsFile,
    requested: str | None,
    environ: Mapping[str, str] | None = None,
    *,
    allow_all: bool = False,
) -> list[str | None]:
    """The environments a command works on: `--env`, else RECONCILER_ENV, else
    default_environment; `[None]` for a file without environments (raises SettingsError)."""
    names = environment_names(file)
    wanted = requested_environment(requested, environ) or None
    source = "--env" if requested else "RECONCILER_ENV"
    if not names:
        if wanted == ALL_ENVIRONMENTS and not allow_all:
            raise SettingsError(
                f"{source} all: this command works on one environment, and reconciler.yaml "
                "defines none: leave out the environment"
            )
        if wanted is not None and wanted != ALL_ENVIRONMENTS:
            raise SettingsError(
                f"{source} {wanted}: reconciler.yaml defines no environments (add "
                "`environments:` to it, or leave out the environment)"
            )
        return [None]
    wanted = wanted or file.default_environment
    if wanted is None:
        raise SettingsError(
            f"--env is required: reconciler.yaml defines the environments {', '.join(names)} "
            "and no default_environment (or set RECONCILER_ENV)"
        )
    if wanted == ALL_ENVIRONMENTS:
        if not allow_all:
            raise SettingsError(
                f"{source} all: this command works on one environment; name one of "
                f"{', '.join(names)}"
            )
        return list(names)
    if wanted not in names:
        raise SettingsError(f"{source} {wanted}: {unknown_environment(wanted, names)}")
    return [wanted]


def once_chosen(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment for resolving environments `chosen_environments` has
    picked: without RECONCILER_ENV, which has had its say. Read again, it would ask anew
    for the unnamed environment that `all` (or a flag over the variable) picked."""
    env = os.environ if environ is None else environ
    return {key: value for key, value in env.items() if key != "RECONCILER_ENV"}


@contextmanager
def in_environment(name: str | None, gated: str | None = None) -> Iterator[None]:
    """Errors of one of several environments say which one they come from; those of a
    promotion source (`gated`: the environment that promotes from it) say so too, since
    the command named the other one."""
    try:
        yield
    except ReconcilerError as exc:
        if name is None:
            raise
        role = f" (the promotion source of {gated})" if gated else ""
        raise ReconcilerError(f"environment {name}{role}: {exc.message}") from exc


def layered(file: SettingsFile, environment: str | None) -> EnvironmentSettings:
    """An environment's settings: the top level's, with its own on top (the `safety`
    block merged key by key, everything else replaced)."""
    base: dict[str, Any] = file.model_dump(
        exclude_unset=True, exclude={"environments", "default_environment"}
    )
    own = (file.environments or {}).get(environment) if environment else None
    if own is not None:
        mine = own.model_dump(exclude_unset=True)
        if isinstance(base.get("safety"), dict) and isinstance(mine.get("safety"), dict):
            mine["safety"] = {**base["safety"], **mine["safety"]}
        base.update(mine)
    return EnvironmentSettings.model_validate(base)


def settings_problems(file: SettingsFile) -> list[tuple[tuple[str, ...], str]]:
    """Rules across the environments of a settings file, as (path, message): a default
    or promotion source that names no environment, a promotion cycle, two environments
    whose credential variables would be the same."""
    names = environment_names(file)
    found: list[tuple[tuple[str, ...], str]] = []
    if file.default_environment is not None and file.default_environment not in names:
        found.append(
            (("default_environment",), unknown_environment(file.default_environment, names))
        )
    prefixes: dict[str, str] = {}
    for name, own in (file.environments or {}).items():
        other = prefixes.setdefault(environment_prefix(name), name)
        if other != name:
            found.append(
                (
                    ("environments", name),
                    f"`{name}` and `{other}` would both read credentials from "
                    f"{environment_prefix(name)}*; rename one",
                )
            )
        source = own.promote_from if own is not None else None
        if source is None:
            continue
        where = ("environments", name, "promote_from")
        if source == name:
            found.append((where, "an environment cannot promote from itself"))
        elif source not in names:
            found.append((where, unknown_environment(source, names)))
        elif _promotes_from(file, source, name):
            found.append(
                (where, f"promotion cycle: `{source}` promotes (indirectly) from `{name}`")
            )
    return found


def _promotes_from(file: SettingsFile, start: str, target: str) -> bool:
    """Whether following promote_from from `start` reaches `target`."""
    seen: set[str] = set()
    current: str | None = start
    environments = file.environments or {}
    while current is not None and current not in seen:
        if current == target:
            return True
        seen.add(current)
        own = environments.get(current)
        current = own.promote_from if own is not None else None
    return False


def promotion_order(file: SettingsFile) -> list[str]:
    """Environments with every promotion source before the environments it gates
    (otherwise in the order written): the order in which to apply them."""
    environments = file.environments or {}
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered or name in path or name not in environments:
            return
        own = environments[name]
        if own is not None and own.promote_from is not None:
            visit(own.promote_from, (*path, name))
        ordered.append(name)

    for name in environments:
        visit(name, ())
    return ordered
