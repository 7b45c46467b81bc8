"""The provider as Airflow's CLI sees it: registration and the connection test."""

import json
import re
from importlib.metadata import version

from sandbox_support import closed_port
from support import ROOT


def test_providers_list_and_hooks_show_the_provider(airflow_home):
    # Installed beside this minor's constraints file (each tier's venv), Airflow stays the
    # version that file pins.
    airflow = version("apache-airflow")
    minor = ".".join(airflow.split(".")[:2])
    constraints = (ROOT / "requirements" / f"constraints-{minor}.txt").read_text()
    assert re.search(rf"^apache-airflow=={re.escape(airflow)}$", constraints, re.M)
    listed = airflow_home.airflow("providers", "list", "-o", "json").stdout
    assert "airflow-provider-sms" in listed
    hooks = airflow_home.airflow("providers", "hooks", "-o", "json").stdout
    # The JSON list, after whatever Airflow logged or warned before it.
    listing = next(line for line in hooks.splitlines() if line.startswith("[{"))
    entry = next(h for h in json.loads(listing) if h["connection_type"] == "bird")
    assert entry["class"] == "airflow_provider_sms.hooks.bird.BirdHook"
    assert entry["hook_name"] == "Bird"


def test_connection_test_reads_the_channel_and_sends_nothing(airflow_home, bird_sandbox):
    conn_var, conn_json = bird_sandbox.connection_env()
    out = airflow_home.airflow(
        "connections",
        "test",
        "bird_default",
        AIRFLOW__CORE__TEST_CONNECTION="Enabled",
        **{conn_var: conn_json},
    ).stdout
    assert "Connection success!" in out
    assert [r.method for r in bird_sandbox.requests] == ["GET"]
    assert not bird_sandbox.messages


def test_connection_test_on_an_unreachable_host_says_why_quickly(airflow_home, bird_sandbox):
    import time

    conn = bird_sandbox.connection()
    with closed_port() as closed:
        conn["host"] = f"http://127.0.0.1:{closed}"
        started = time.monotonic()
        result = airflow_home.airflow(
            "connections",
            "test",
            "bird_default",
            check=False,
            AIRFLOW__CORE__TEST_CONNECTION="Enabled",
            AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(conn),
        )
    elapsed = time.monotonic() - started
    print(f"\n`airflow connections test` on a closed port answered in {elapsed:.1f} s")
    assert "the connection was refused" in result.stdout
    assert f"http://127.0.0.1:{closed}" in result.stdout
    assert elapsed < 20  # Airflow's own start-up is most of it; the test itself is < 5 s
