"""Example DAGs run end to end by real Airflow (`airflow dags test`) against the sandbox."""

from support import without_airflow_3_0_echo


def test_sms_reminders_dag(airflow_home, checked_sandbox):
    conn_var, conn_json = checked_sandbox.connection_env()
    result = airflow_home.dags_test("example_sms_reminders", **{conn_var: conn_json})
    receivers = [m["receiver"]["contacts"][0]["identifierValue"] for m in checked_sandbox.messages]
    assert sorted(receivers) == ["+31612345678", "+31612345679", "+31612345680"]
    for request in checked_sandbox.requests:
        assert request.headers["Authorization"] == f"AccessKey {checked_sandbox.access_key}"
    # Before 3.3 the send also lists the channel first (GETs): the POSTs are the messages.
    for request in (r for r in checked_sandbox.requests if r.method == "POST"):
        assert request.json["body"]["text"]["text"].startswith("Reminder: you have an appointment")
    assert checked_sandbox.access_key not in without_airflow_3_0_echo(result.stdout)


def test_mms_daily_report_dag(airflow_home, checked_sandbox):
    conn_var, conn_json = checked_sandbox.connection_env()
    airflow_home.dags_test("example_mms_daily_report", **{conn_var: conn_json})
    messages = checked_sandbox.messages
    assert sorted(m["receiver"]["contacts"][0]["identifierValue"] for m in messages) == [
        "+12125550123",
        "+14155552671",
    ]
    # The chart the first task drew, uploaded once, is what every message shows.
    [upload] = checked_sandbox.uploads
    assert upload.content_type == "image/png" and upload.data.startswith(b"\x89PNG")
    for message in messages:
        image = message["body"]["image"]
        assert image["images"] == [{"mediaUrl": upload.media_url, "altText": "Sales by region"}]
        assert image["metadata"]["subject"].startswith("Sales report ")


def test_template_reminder_dag(airflow_home, checked_sandbox):
    conn_var, conn_json = checked_sandbox.connection_env()
    airflow_home.dags_test("example_template_reminder", **{conn_var: conn_json})
    by_recipient = {
        m["receiver"]["contacts"][0]["identifierValue"]: m for m in checked_sandbox.messages
    }
    assert set(by_recipient) == {"+31612345678", "+31612345679"}
    robert = by_recipient["+31612345678"]
    assert "body" not in robert
    assert robert["meta"]["extraInformation"]["renderedText"].startswith("Hi Robert, ")


def test_inbound_support_dag_run_by_hand_answers_nobody(airflow_home, checked_sandbox):
    # Run without asset events (as `dags test` does): no ticket, no answer, no request. The
    # deployed Airflow runs it on real inbound SMS (tests/e2e/test_deployed.py).
    conn_var, conn_json = checked_sandbox.connection_env()
    result = airflow_home.dags_test("example_inbound_support", **{conn_var: conn_json})
    assert result.returncode == 0
    assert checked_sandbox.messages == [] and checked_sandbox.requests == []
