"""Example DAGs run end to end by real Airflow (`airflow dags test`) against the sandbox."""

import json

from support import TEST_DAGS


def test_sms_reminders_dag(airflow_home, checked_sandbox):
    conn_var, conn_json = checked_sandbox.connection_env()
    result = airflow_home.dags_test("example_sms_reminders", **{conn_var: conn_json})
    receivers = [m["receiver"]["contacts"][0]["identifierValue"] for m in checked_sandbox.messages]
    assert sorted(receivers) == ["+31612345678", "+31612345679", "+31612345680"]
    for request in checked_sandbox.requests:
        assert request.headers["Authorization"] == f"AccessKey {checked_sandbox.access_key}"
        assert request.json["body"]["text"]["text"].startswith("Reminder: you have an appointment")
    assert checked_sandbox.access_key not in result.stdout


def test_mms_daily_report_dag(airflow_home, checked_sandbox):
    conn_var, conn_json = checked_sandbox.connection_env()
    airflow_home.dags_test("example_mms_daily_report", **{conn_var: conn_json})
    messages = checked_sandbox.messages
    assert sorted(m["receiver"]["contacts"][0]["identifierValue"] for m in messages) == [
        "+12125550123",
        "+14155552671",
    ]
    for message in messages:
        image = message["body"]["image"]
        assert image["images"][0]["mediaUrl"].startswith("https://reports.example.com/sales/")
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


def test_every_option_dag_stores_each_option_as_birds_schema_says(airflow_home, checked_sandbox):
    airflow_home.dags_test(
        "every_option",
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(checked_sandbox.connection()),
    )
    by_recipient = {
        m["receiver"]["contacts"][0]["identifierValue"]: m for m in checked_sandbox.messages
    }
    sms, template, mms = (by_recipient[n] for n in ("+31612345678", "+31612345679", "+14155552671"))

    # SendSmsOperator: each option, templated ones rendered.
    assert sms["validity"] == 1800
    assert sms["ignoreQuietHours"] is True and sms["ignoreGlobalHoldout"] is True
    assert sms["enableLinkTracking"] is True
    assert sms["shortLinks"] == {"domain": "go.example.com"}
    assert sms["notification"] == {"url": "https://hooks.example/bird/every_option"}
    extra = sms["meta"]["extraInformation"]
    assert {k: extra[k] for k in ("useCase", "dag")} == {
        "useCase": "transactional",
        "dag": "every_option",
    }
    assert sms["meta"]["sms"] == {"smartEncoding": True}
    text = sms["body"]["text"]["text"]  # the sandbox shortened the link
    assert "track.example" not in text and "https://go.example.com/" in text

    # SendTemplateOperator: by name, variables, UTM parameters, the template's short links.
    assert template["template"]["name"] == "appointment-reminder"
    assert "projectId" not in template["template"]
    assert template["template"]["variables"] == {"clinic": "Oost"}
    assert template["template"]["utmParameters"] == [
        {"key": "utm_source", "value": "airflow"},
        {"key": "utm_medium", "reference": "channel_name"},
    ]
    assert template["template"]["shortLinks"] == {"enabled": True, "domain": "default"}
    assert "shortLinks" not in template and template["validity"] == 7200
    assert template["meta"]["extraInformation"]["renderedText"].startswith("Hi Robert, ")

    # SendMmsOperator: fallback text beside the subject; the flags sent as False.
    assert mms["body"]["image"]["metadata"] == {
        "subject": "Sales report",
        "fallbackText": "Sales report: https://reports.example.com/sales/today",
    }
    assert mms["ignoreQuietHours"] is False and mms["ignoreGlobalHoldout"] is False
    assert mms["validity"] == 600
