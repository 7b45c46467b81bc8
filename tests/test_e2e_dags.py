"""Example DAGs run end to end by real Airflow (`airflow dags test`) against the sandbox."""

import pytest

pytestmark = pytest.mark.e2e


def test_sms_reminders_dag(airflow_home, bird_sandbox):
    conn_var, conn_json = bird_sandbox.connection_env()
    result = airflow_home.dags_test("example_sms_reminders", **{conn_var: conn_json})
    receivers = [m["receiver"]["contacts"][0]["identifierValue"] for m in bird_sandbox.messages]
    assert sorted(receivers) == ["+31612345678", "+31612345679", "+31612345680"]
    for request in bird_sandbox.requests:
        assert request.headers["Authorization"] == f"AccessKey {bird_sandbox.access_key}"
        assert request.json["body"]["text"]["text"].startswith("Reminder: you have an appointment")
    assert bird_sandbox.access_key not in result.stdout
