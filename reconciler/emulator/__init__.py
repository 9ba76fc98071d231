"""A local stand-in for mParticle's Calculated Attributes APIs (Platform, Seeding, OAuth),
written from the API docs alone: it imports nothing of the reconciler outside this package."""

from reconciler.emulator.app import create_app
from reconciler.emulator.config import EmulatorConfig

__all__ = ["EmulatorConfig", "create_app"]
