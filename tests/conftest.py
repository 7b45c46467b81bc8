import os
import tempfile
from pathlib import Path

# Airflow reads its configuration at import time: point it at a throw-away home first.
_HOME = tempfile.mkdtemp(prefix="airflow-provider-sms-tests-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = ROOT / "example_dags"
TEST_DAGS = Path(__file__).resolve().parent / "dags"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """A migrated Airflow home (embedded SQLite) for `airflow dags test` runs."""
    from airflow_provider_sms.testing import AirflowHome

    home = AirflowHome(tmp_path_factory.mktemp("airflow") / "home", EXAMPLE_DAGS)
    home.migrate()
    return home


@pytest.fixture
def checked_sandbox(bird_sandbox):
    """The sandbox; afterwards, every message body the provider sent to it must validate
    against Bird's own CreateMessage schema (when the reference folder is present)."""
    yield bird_sandbox
    from bird_contract import assert_valid_create_message

    for request in bird_sandbox.requests:
        if request.method == "POST" and isinstance(request.json, dict):
            for body in request.json.get("messageRequests", [request.json]):
                assert_valid_create_message(body)
