"""Seeding: what a run shows while it goes (progress, warnings, announced waits). The
command implements it for the terminal; programmatic callers may pass their own."""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    """What the terminal shows while a run goes."""

    def warn(self, message: str) -> None: ...

    def announce(self, message: str) -> None:
        """A wait or a change of pace, said as it happens (on stderr)."""

    def reading(self, done: int, total: int) -> None: ...

    def sending(self, users: int, already: int) -> None: ...

    def confirmed(self, users: int) -> None: ...


class Quiet:
    """An observer that shows nothing."""

    def warn(self, message: str) -> None:
        pass

    def announce(self, message: str) -> None:
        pass

    def reading(self, done: int, total: int) -> None:
        pass

    def sending(self, users: int, already: int) -> None:
        pass

    def confirmed(self, users: int) -> None:
        pass
