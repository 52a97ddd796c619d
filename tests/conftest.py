"""Suite-wide pytest configuration.

The ``emulator``, ``aws_client`` and ``aws_resource`` fixtures come from the
package's pytest plugin (emulator/testing/plugin.py, entry point ``pytest11``);
it is registered here too when the package is not pip-installed.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("emulator") and not config.pluginmanager.has_plugin("emulator.testing.plugin"):
        config.pluginmanager.import_plugin("emulator.testing.plugin")
    config.addinivalue_line("markers", "needs_native(service): the test needs a native (non-moto) handler for the service")
