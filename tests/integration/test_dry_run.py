"""Dry runs send nothing at all, and the segment limit refuses a costly text before sending."""

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_sms.notifications.sms import SmsNotifier
from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.operators.template import SendTemplateOperator
from bird_sandbox import TEMPLATE_PROJECT_ID

NL = ["+31612345678", "+31612345679"]
US = "+14155552671"


def reminder_template(**options) -> SendTemplateOperator:
    return SendTemplateOperator(
        task_id="t",
        recipients=NL,
        project_id=TEMPLATE_PROJECT_ID,
        parameters={"name": "Ana", "date": "today"},
        **options,
    )


def test_a_dry_run_sms_sends_nothing_and_shows_the_bodies_and_segments(checked_sandbox, capsys):
    text = "Café opens at 9 – see you!"
    result = SendSmsOperator(task_id="t", recipients=NL, text=text, dry_run=True).execute({})
    assert checked_sandbox.requests == []
    assert result["dry_run"] is True and result["total"] == 2
    [message] = result["messages"]
    assert (message["encoding"], message["segments"]) == ("UCS-2", 1)  # the en dash
    assert [r["body"]["text"]["text"] for r in result["requests"]] == [
        "Café opens at 9 – see you!"
    ] * 2
    shown = [r["receiver"]["contacts"][0]["identifierValue"] for r in result["requests"]]
    assert shown == ["+316******78", "+316******79"]
    logged = capsys.readouterr().out
    assert "Dry run: would send" in logged and "nothing was sent" in logged
    assert "+31612345678" not in logged


def test_dry_runs_of_mms_and_templates_send_nothing_not_even_the_capability_check(
    checked_sandbox,
):
    mms = SendMmsOperator(
        task_id="t", recipients=US, images="https://e.x/a.png", text="Chart", dry_run=True
    ).execute({})
    template = reminder_template(dry_run=True).execute({})
    assert checked_sandbox.requests == []
    assert mms["requests"][0]["body"]["type"] == "image"
    assert template["requests"][0]["template"]["projectId"] == TEMPLATE_PROJECT_ID
    assert "segments" not in template["messages"][0]  # Bird renders the template


def test_a_dry_run_notifier_sends_nothing(checked_sandbox, capsys):
    SmsNotifier(recipients=NL, text="load_warehouse failed", dry_run=True).notify({})
    assert checked_sandbox.requests == []
    assert "Dry run: SMS to 2 recipient(s)" in capsys.readouterr().out


def test_a_long_text_with_an_accent_fails_under_the_default_segment_limit(checked_sandbox):
    text = "Bonjour " + "ê" * 1992  # 2,000 characters, UCS-2 because of the accent
    with pytest.raises(AirflowFailException) as e:
        SendSmsOperator(task_id="t", recipients=NL, text=text).execute({})
    assert "text: needs 30 UCS-2 segments (2000 characters), more than max_segments=10" in str(
        e.value
    )
    assert "UCS-2 because of 'ê'" in str(e.value)
    with pytest.raises(AirflowFailException, match="max_segments=10"):
        SmsNotifier(recipients=NL, text=text).notify({})
    assert checked_sandbox.requests == []


def test_smart_encoding_asks_bird_to_keep_the_text_gsm(checked_sandbox, capsys):
    SendSmsOperator(
        task_id="t", recipients=NL[0], text="“Quoted” text", smart_encoding=True
    ).execute({})
    [message] = checked_sandbox.messages
    assert message["meta"]["sms"] == {"smartEncoding": True}
    assert "(before Bird's smart encoding)" in capsys.readouterr().out


def test_a_staging_connection_makes_every_send_a_dry_run_whatever_the_task_says(
    checked_sandbox, monkeypatch, tmp_path, capsys
):
    import json

    from support import png

    conn = checked_sandbox.connection()
    conn["extra"] = {**conn["extra"], "dry_run": True}
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    chart = tmp_path / "chart.png"
    chart.write_bytes(png())
    sms = SendSmsOperator(task_id="t", recipients=NL, text="Reminder", dry_run=False)
    mms = SendMmsOperator(task_id="t", recipients=US, files=[str(chart)], text="Chart")
    template = reminder_template(wait_for_delivery=True)
    results = [operator.execute({}) for operator in (sms, mms, template)]
    SmsNotifier(recipients=NL, text="load_warehouse failed").notify({})
    # Nothing asked of Bird at all: no send, no upload, not even the channel's capabilities.
    assert checked_sandbox.requests == []
    assert all(result["dry_run"] is True for result in results)
    assert results[1]["uploads"][0]["field"].startswith("files")
    logged = capsys.readouterr().out
    assert logged.count("is a staging one (extra.dry_run)") == 4
    assert logged.count("nothing was sent") == 4
