"""Fixtures for every tier. Tests in tests/e2e/ are marked `e2e` here, once, so that
`pytest -m "not e2e"` skips every test that runs real Airflow processes."""

import os
import tempfile
from pathlib import Path

# Airflow reads its configuration at import time: point it at a throw-away home first.
_HOME = tempfile.mkdtemp(prefix="airflow-provider-sms-tests-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pytest  # noqa: E402
from support import EXAMPLE_DAGS  # noqa: E402

# The bird_sandbox fixture is opt-in (no pytest11 entry point); only this, the top-level
# conftest, may load plugins with pytest_plugins.
pytest_plugins = ["bird_sandbox.pytest_plugin"]

E2E = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(items):
    from airflow_provider_sms.compat import AIRFLOW_VERSION

    installed = ".".join(map(str, AIRFLOW_VERSION))
    for item in items:
        if E2E in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
        # A test of a feature the installed Airflow lacks (its minor is in the mark): skipped
        # there, run on every Airflow that has it.
        for mark in item.iter_markers("needs_airflow"):
            needed = tuple(int(part) for part in mark.args[0].split("."))
            if AIRFLOW_VERSION[: len(needed)] < needed:
                reason = (
                    f"needs Airflow {mark.args[0]} ({mark.kwargs['feature']}); this is {installed}"
                )
                item.add_marker(pytest.mark.skip(reason=reason))
        # A test of one major's Airflow only (its web UI, say): skipped on the others.
        for mark in item.iter_markers("only_airflow"):
            if AIRFLOW_VERSION[0] != int(mark.args[0]):
                reason = (
                    f"only on Airflow {mark.args[0]} ({mark.kwargs['feature']}); "
                    f"this is {installed}"
                )
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """A migrated Airflow home (embedded SQLite) for `airflow dags test` runs."""
    from airflow_provider_sms.testing import AirflowHome

    # Wide enough that Airflow 3.0's rich tracebacks print an error's text on one line.
    home = AirflowHome(
        tmp_path_factory.mktemp("airflow") / "home", EXAMPLE_DAGS, {"COLUMNS": "400"}
    )
    home.migrate()
    return home


@pytest.fixture
def checked_sandbox(bird_sandbox):
    """The sandbox; afterwards, every body the provider POSTed to it must validate against
    Bird's own schema, vendored in the sandbox: each message against CreateMessage, each
    batch against CreateBatchMessages (whose items are CreateMessage)."""
    yield bird_sandbox
    _assert_valid_posts(bird_sandbox)


@pytest.fixture
def sandbox_clock():
    from sandbox_support import Clock

    return Clock()


@pytest.fixture
def stepped_sandbox(sandbox_clock, monkeypatch):
    """A checked sandbox (see `checked_sandbox`) on `sandbox_clock`, which moves only when the
    test steps it (``sandbox_clock.now += 1.2``): statuses and replies come without waiting."""
    from bird_sandbox import BirdSandbox

    with BirdSandbox(clock=sandbox_clock) as sandbox:
        monkeypatch.setenv(*sandbox.connection_env())
        yield sandbox
    _assert_valid_posts(sandbox)


def _assert_valid_posts(sandbox) -> None:
    from support import assert_valid_create_batch, assert_valid_create_message

    for request in sandbox.requests:
        if request.method != "POST" or request.fault in ("drop", "hang"):
            continue  # a dropped or hung request's body was never read
        if not request.path.startswith("/workspaces") or request.path.endswith("-upload"):
            continue  # a media upload, not a message
        if request.path.endswith("/batch/messages"):
            assert_valid_create_batch(request.json)
        else:
            assert_valid_create_message(request.json)


@pytest.fixture
def make_client(bird_sandbox):
    """Build Bird clients against the sandbox, with fast retries; closed afterwards."""
    from airflow_provider_sms.bird.client import BirdClient
    from airflow_provider_sms.bird.settings import ClientSettings

    clients = []

    def make(**overrides):
        settings = {
            "access_key": bird_sandbox.access_key,
            "workspace_id": bird_sandbox.workspace_id,
            "base_url": bird_sandbox.base_url,
            "channel_id": bird_sandbox.mms_channel_id,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "read_timeout": 2.0,
            **overrides,
        }
        clients.append(BirdClient(ClientSettings(**settings)))
        return clients[-1]

    yield make
    for client in clients:
        client.close()
