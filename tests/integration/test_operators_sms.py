"""SendSmsOperator executed directly (connection from the environment) against the sandbox."""

import json

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_sms.operators.sms import SendSmsOperator

NUMBERS = ["+31612345678", "+31612345679"]


def run(operator):
    return operator.execute(context={})


def recipients_of(sandbox):
    return [m["receiver"]["contacts"][0]["identifierValue"] for m in sandbox.messages]


def test_one_message_per_recipient_with_results(checked_sandbox):
    op = SendSmsOperator(
        task_id="sms",
        recipients="+31 6 12345678, 0612345679, +31612345678",
        text="Your order shipped",
        default_region="NL",
        reference="order-42",
        tags=["orders"],
    )
    results = run(op)
    assert sorted(recipients_of(checked_sandbox)) == NUMBERS
    assert {r["recipient"] for r in results} == set(NUMBERS)
    by_id = {m["id"]: m for m in checked_sandbox.messages}
    for result in results:
        assert result["status"] == "accepted"
        sent = by_id[result["message_id"]]
        assert sent["receiver"]["contacts"][0]["identifierValue"] == result["recipient"]
    for request in checked_sandbox.requests:
        assert request.json["body"] == {"type": "text", "text": {"text": "Your order shipped"}}
        assert request.json["reference"] == "order-42"
        assert request.json["tags"] == ["orders"]
        assert request.json["receiver"]["contacts"][0]["identifierKey"] == "phonenumber"


def test_rendered_templates_are_used(checked_sandbox):
    op = SendSmsOperator(task_id="sms", recipients="{{ params.to }}", text="Run {{ ds }}")
    op.render_template_fields({"ds": "2026-11-26", "params": {"to": NUMBERS[0]}})
    run(op)
    assert [r.json["body"]["text"]["text"] for r in checked_sandbox.requests] == ["Run 2026-11-26"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"recipients": ["+31612345678", "not-a-number"], "text": "x"}, "recipients"),
        ({"recipients": [], "text": "x"}, "recipients"),
        ({"recipients": "0612345678", "text": "x"}, "recipients"),
        ({"recipients": NUMBERS, "text": ""}, "text"),
        ({"recipients": NUMBERS, "text": "   "}, "text"),
        ({"recipients": NUMBERS, "text": None}, "text"),
        ({"recipients": NUMBERS, "text": "x", "tags": ["bad/tag"]}, "tags"),
        ({"recipients": NUMBERS, "text": "x", "reference": ""}, "reference"),
    ],
)
def test_bad_input_fails_before_any_request(checked_sandbox, kwargs, field):
    with pytest.raises(AirflowFailException) as e:
        run(SendSmsOperator(task_id="sms", **kwargs))
    assert field in str(e.value)
    assert checked_sandbox.requests == []


def test_every_invalid_recipient_is_listed_masked(checked_sandbox):
    bad = ["+3161234", "+1555000111222333", "12"]
    with pytest.raises(AirflowFailException) as e:
        run(SendSmsOperator(task_id="sms", recipients=[NUMBERS[0], *bad], text="x"))
    message = str(e.value)
    assert "3 invalid" in message
    assert "+1555000111222333" not in message and "+3161234" not in message
    assert checked_sandbox.requests == []


def failure_over(sandbox, monkeypatch, **changes) -> str:
    """The failure of a send over the sandbox's connection with `changes` made to it."""
    conn = {**sandbox.connection(), **changes}
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    with pytest.raises(AirflowFailException) as e:
        run(SendSmsOperator(task_id="sms", recipients=NUMBERS, text="x", max_concurrency=1))
    return str(e.value)


def test_non_loopback_http_host_fails_before_any_request(checked_sandbox, monkeypatch):
    text = failure_over(checked_sandbox, monkeypatch, host="http://api.bird.com")
    assert "http://api.bird.com" in text and "https://" in text
    assert checked_sandbox.requests == []


def test_wrong_key_fails_without_retry_and_without_the_key(checked_sandbox, monkeypatch):
    text = failure_over(checked_sandbox, monkeypatch, password="definitely-wrong-key")
    assert "Unauthorized" in text
    assert "definitely-wrong-key" not in text
    # It names the connection, and where the key is kept.
    assert (
        "(Bird refused the access key of connection 'bird_default': check its password "
        "field, which holds the key, and the workspace's permissions)"
    ) in text
    # Stops at the first 401 instead of trying every recipient with a bad key.
    assert len(checked_sandbox.requests) == 1


def test_a_connection_without_a_workspace_names_the_field_and_the_connection(
    checked_sandbox, monkeypatch
):
    conn = checked_sandbox.connection()
    del conn["extra"]["workspace_id"]
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_EU", json.dumps(conn))
    with pytest.raises(AirflowFailException) as e:
        run(SendSmsOperator(task_id="sms", recipients=NUMBERS, text="x", bird_conn_id="bird_eu"))
    assert str(e.value) == (
        "Bird connection 'bird_eu': extra.workspace_id: is required (nothing was sent)"
    )
    assert checked_sandbox.requests == []


def test_partial_failure_sends_the_rest_then_fails_with_summary(checked_sandbox):
    checked_sandbox.reject_recipients = {NUMBERS[1]}
    numbers = [*NUMBERS, "+31612345670"]
    with pytest.raises(AirflowFailException) as e:
        run(SendSmsOperator(task_id="sms", recipients=numbers, text="x"))
    assert sorted(recipients_of(checked_sandbox)) == sorted([NUMBERS[0], "+31612345670"])
    message = str(e.value)
    assert "2 of 3 SMS(s) accepted, 1 failed" in message
    assert NUMBERS[1] not in message and "422" in message


def test_partial_failure_tolerated_returns_failures(checked_sandbox):
    checked_sandbox.reject_recipients = {NUMBERS[1]}
    results = run(
        SendSmsOperator(task_id="sms", recipients=NUMBERS, text="x", fail_on_partial_failure=False)
    )
    by_recipient = {r["recipient"]: r for r in results}
    assert by_recipient[NUMBERS[0]]["status"] == "accepted"
    assert by_recipient[NUMBERS[1]]["status"] == "failed"
    assert "422" in by_recipient[NUMBERS[1]]["error"]


def test_server_outage_fails_with_retryable_airflow_exception(checked_sandbox, monkeypatch):
    checked_sandbox.inject("status", count=1000, status=503)
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=2, retry_backoff=0.01)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    with pytest.raises(AirflowException) as e:
        run(SendSmsOperator(task_id="sms", recipients=NUMBERS[0], text="x"))
    assert not isinstance(e.value, AirflowFailException)
    assert "503" in str(e.value)


def test_segment_count_is_logged(checked_sandbox, capsys):
    run(SendSmsOperator(task_id="sms", recipients=NUMBERS[0], text="ą" * 71))
    assert "71 character(s): 2 UCS-2 segment(s) per message" in capsys.readouterr().out
