"""The resilience suite's fixtures: the seeding tests' emulator servers."""

from tests.seeding.conftest import serve, workspace_db

__all__ = ["serve", "workspace_db"]
