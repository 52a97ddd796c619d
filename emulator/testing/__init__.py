"""pytest fixtures for users' own tests: a real emulator server per test session."""

from emulator.testing.server import EmulatorServer

__all__ = ["EmulatorServer"]
