"""pytest plugin providing the ``bird_sandbox`` fixture. Opt-in: it is not registered as a
``pytest11`` entry point, so it loads only into test runs that ask for it, either with
``pytest -p airflow_provider_sms.sandbox.pytest_plugin`` or in the rootdir's ``conftest.py``
(pytest allows ``pytest_plugins`` only there)::

    pytest_plugins = ["airflow_provider_sms.sandbox.pytest_plugin"]

It imports nothing beyond pytest at module level; the sandbox itself is imported when the
fixture runs.
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
