"""pytest fixtures for users' own tests: a real emulator server per test session."""

from emulator.testing.server import EmulatorServer, TlsEmulatorServer

__all__ = ["EmulatorServer", "TlsEmulatorServer"]
