"""Tests of the emulator: the API docs' contract over real HTTP, knobs, server lifecycle."""
