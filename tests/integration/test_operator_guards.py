"""What the operators refuse before any request, and what they always release."""

import json

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.operators.send import MAX_CONCURRENCY
from airflow_provider_sms.operators.sms import SendSmsOperator

US_MOBILE = "+14155552671"
NL_MOBILE = "+31612345678"


def test_an_mms_to_a_number_outside_the_us_and_canada_is_refused(checked_sandbox):
    op = SendMmsOperator(task_id="t", recipients=[US_MOBILE, NL_MOBILE], images="https://e.x/a.png")
    with pytest.raises(AirflowFailException) as e:
        op.execute({})
    assert "in NL, and Bird offers MMS to US and Canadian numbers only" in str(e.value)
    assert checked_sandbox.requests == []
    SendMmsOperator(
        task_id="t",
        recipients=[US_MOBILE, NL_MOBILE],
        images="https://e.x/a.png",
        allow_mms_outside_us_ca=True,
    ).execute({})
    assert len(checked_sandbox.messages) == 2


def test_mms_allowed_regions_must_include_where_bird_offers_mms(checked_sandbox):
    op = SendMmsOperator(
        task_id="t", recipients=US_MOBILE, images="https://e.x/a.png", allowed_regions=["NL"]
    )
    with pytest.raises(AirflowFailException, match="allowed_regions: includes neither US nor CA"):
        op.execute({})
    assert checked_sandbox.requests == []


def test_premium_numbers_and_other_regions_are_refused_by_the_sms_operator(checked_sandbox):
    with pytest.raises(AirflowFailException, match="premium-rate"):
        SendSmsOperator(task_id="t", recipients="+31900123456", text="x").execute({})
    with pytest.raises(AirflowFailException, match="in NL, not in allowed_regions"):
        SendSmsOperator(
            task_id="t", recipients=NL_MOBILE, text="x", allowed_regions=["BE"]
        ).execute({})
    assert checked_sandbox.requests == []


def test_max_concurrency_has_a_documented_ceiling():
    with pytest.raises(ValueError, match=f"max_concurrency: must be 1 to {MAX_CONCURRENCY}"):
        SendSmsOperator(task_id="t", recipients=US_MOBILE, text="x", max_concurrency=2000)


def test_a_failed_capability_check_closes_the_client(checked_sandbox, monkeypatch):
    from airflow_provider_sms.bird.client import BirdClient

    closed = []
    close = BirdClient.close
    monkeypatch.setattr(BirdClient, "close", lambda self: closed.append(self) or close(self))
    conn = checked_sandbox.connection(channel_id=checked_sandbox.sms_channel_id)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    for _ in range(5):
        op = SendMmsOperator(
            task_id="t", recipients=US_MOBILE, images="https://e.x/a.png", max_concurrency=200
        )
        with pytest.raises(AirflowFailException, match="cannot send MMS"):
            op.execute({})
    # Closed on that path too, not left to the garbage collector.
    assert len(closed) == 5 and all(client._session is None for client in closed)
