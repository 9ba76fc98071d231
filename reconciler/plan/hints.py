"""Planning, pure: what a `create` in the plan may really mean. A create is the one action
whose mistake is silent: a typo in `renamed_from`, a name that differs from a live CA's
only in case, Unicode form or whitespace around it, or a rename written without
`renamed_from` all plan "create a new CA" (and, with --prune, "delete the old one", its
seeds and audiences). Each is told as a warning on the create, where the reviewer reads it."""

from __future__ import annotations

import difflib
import json
import unicodedata
from collections.abc import Iterable, Sequence

from reconciler.errors import quoted
from reconciler.models import DeclaredCA, LiveCA, fingerprint
from reconciler.models.rules import folded

#: How many close live names a `renamed_from` that names none suggests.
_SUGGESTED = 3


def _quoted(names: Iterable[str]) -> str:
    return " or ".join(quoted(name) for name in names)


def _suggestions(wanted: str, names: Sequence[str]) -> list[str]:
    """Live names the user may have meant: those that fold alike first, then close ones."""
    alike = [name for name in names if folded(name) == folded(wanted)]
    close = difflib.get_close_matches(wanted, names, n=_SUGGESTED)
    return list(dict.fromkeys(alike + close))[:_SUGGESTED]


def _renamed_from(ca: DeclaredCA, names: Sequence[str]) -> list[str]:
    if ca.renamed_from is None:
        return []
    found = _suggestions(ca.renamed_from, names)
    meant = f"; did you mean {_quoted(found)}?" if found else ""
    return [
        f"renamed_from {quoted(ca.renamed_from)} names no CA in the workspace, so this creates a "
        f"new CA{meant}"
    ]


def _apart(name: str, other: str) -> str:
    """`name` quoted, with every character outside ASCII escaped (`"Cafe\\u0301"`) when it
    differs from `other` only in Unicode normalisation (é as one code point or as e and a
    combining accent): written plainly, the two names would print alike."""
    if unicodedata.normalize("NFC", name) == unicodedata.normalize("NFC", other):
        return json.dumps(name)
    return quoted(name)


def _look_alikes(ca: DeclaredCA, by_folded: dict[str, list[LiveCA]]) -> list[str]:
    found = []
    for live in by_folded.get(folded(ca.name), []):
        wanted, held = _apart(ca.name, live.name), _apart(live.name, ca.name)
        found.append(
            f"{wanted} differs from the live {held} (id {live.id}) only in case, Unicode form "
            "or whitespace around it: this creates a second CA; to change that one, use its "
            f"name or renamed_from: {held}"
        )
    return found


def _same_definition(ca: DeclaredCA, by_definition: dict[str, list[LiveCA]]) -> list[str]:
    if not by_definition:
        return []  # no unmanaged CA: the digest of the new definition is not needed
    return [
        f"same definition as the unmanaged {quoted(live.name)} (id {live.id}): if this is a "
        f"rename, add renamed_from: {quoted(live.name)} to keep its id, seeds and audiences"
        for live in by_definition.get(fingerprint(ca.canonical), [])
        if folded(live.name) != folded(ca.name)  # already told as a look-alike
    ]


def _definitions(unmanaged: Sequence[LiveCA]) -> dict[str, list[LiveCA]]:
    """Unmanaged live CAs by the digest of each definition they hold (active, draft)."""
    found: dict[str, list[LiveCA]] = {}
    for live in unmanaged:
        held = {fingerprint(d) for d in (live.active, live.draft) if d is not None}
        for digest in held:
            found.setdefault(digest, []).append(live)
    return found


def create_hints(
    creates: Sequence[DeclaredCA], live: Sequence[LiveCA], unmanaged: Sequence[LiveCA]
) -> dict[str, list[str]]:
    """The warnings of each CA the plan creates, by its name (none for most)."""
    if not creates or not live:
        return {}
    names = [held.name for held in live]
    by_folded: dict[str, list[LiveCA]] = {}
    for held in live:
        by_folded.setdefault(folded(held.name), []).append(held)
    by_definition = _definitions(unmanaged) if unmanaged else {}
    hints: dict[str, list[str]] = {}
    for ca in creates:
        found = (
            _renamed_from(ca, names)
            + _look_alikes(ca, by_folded)
            + _same_definition(ca, by_definition)
        )
        if found:
            hints[ca.name] = found
    return hints
