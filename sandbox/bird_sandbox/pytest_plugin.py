"""pytest plugin providing the ``bird_sandbox`` fixture. Opt-in: it is not registered as a
``pytest11`` entry point, so it loads only into test runs that ask for it, either with
``pytest -p bird_sandbox.pytest_plugin`` or in the rootdir's ``conftest.py``
(pytest allows ``pytest_plugins`` only there)::

    pytest_plugins = ["bird_sandbox.pytest_plugin"]

It imports nothing beyond pytest at module level; the sandbox itself is imported when the
fixture runs.

The fixture bears the package's name: in a test that takes it, ``bird_sandbox`` is the running
sandbox, not the module, so import names (``from bird_sandbox import BirdSandbox``).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def bird_sandbox(monkeypatch):
    """A running :class:`~bird_sandbox.BirdSandbox` on a free loopback port.

    ``AIRFLOW_CONN_BIRD_DEFAULT`` points at it for the duration of the test.
    """
    from bird_sandbox import BirdSandbox

    sandbox = BirdSandbox()
    sandbox.start()
    try:
        name, value = sandbox.connection_env()
        monkeypatch.setenv(name, value)
        yield sandbox
    finally:
        sandbox.stop()
