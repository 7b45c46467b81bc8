"""pytest plugin (``pytest11`` entry point) providing the ``bird_sandbox`` fixture.

Loaded into every pytest run of an environment where the package is installed, so it imports
nothing beyond pytest at module level; the sandbox itself is imported when the fixture runs.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def bird_sandbox(monkeypatch):
    """A running :class:`~airflow_provider_sms.sandbox.BirdSandbox` on a free loopback port.

    ``AIRFLOW_CONN_BIRD_DEFAULT`` points at it for the duration of the test.
    """
    from airflow_provider_sms.sandbox import BirdSandbox

    sandbox = BirdSandbox()
    sandbox.start()
    try:
        name, value = sandbox.connection_env()
        monkeypatch.setenv(name, value)
        yield sandbox
    finally:
        sandbox.stop()
