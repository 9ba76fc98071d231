"""The seeding tests' emulator servers, for `reconciler seed`'s command tests."""

from tests.seeding.conftest import serve, workspace_db

__all__ = ["serve", "workspace_db"]
