"""What the operators refuse before any request, and what they always release."""

import json
import re

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


# Three entries, one of them twice, and one excluded: two messages.
CAPPED = {
    "recipients": [US_MOBILE, NL_MOBILE, US_MOBILE, "+31612345679"],
    "exclude_recipients": ["+31612345679"],
}
TWO_SEGMENTS = "x" * 161


def with_extras(sandbox, monkeypatch, **extras) -> None:
    conn = sandbox.connection()
    conn["extra"] = {**conn["extra"], **extras}
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))


@pytest.mark.parametrize(
    ("arguments", "extras", "said"),
    [
        (
            {"max_messages": 1},
            {},
            "2 message(s) to send (after de-duplication and exclusions), "
            "more than max_messages allows (1)",
        ),
        (
            {},
            {"max_messages": 1},
            "2 message(s) to send (after de-duplication and exclusions), "
            "more than the connection's extra.max_messages allows (1)",
        ),
        (
            {"max_total_segments": 3, "text": TWO_SEGMENTS},
            {},
            "4 segment(s) to send"
            " (after de-duplication and exclusions), more than max_total_segments allows (3)",
        ),
        (
            {"text": TWO_SEGMENTS},
            {"max_total_segments": 3},
            "4 segment(s) to send (after "
            "de-duplication and exclusions), more than the connection's extra.max_total_segments "
            "allows (3)",
        ),
        # The operator's own cap takes precedence over the connection's.
        ({"max_messages": 1}, {"max_messages": 100}, "more than max_messages allows (1)"),
    ],
)
def test_a_send_over_a_cap_fails_before_any_request_naming_both_numbers(
    checked_sandbox, monkeypatch, arguments, extras, said
):
    with_extras(checked_sandbox, monkeypatch, **extras)
    arguments = {"text": "Reminder", **CAPPED, **arguments}
    with pytest.raises(AirflowFailException) as refused:
        SendSmsOperator(task_id="t", **arguments).execute({})
    assert said in str(refused.value) and str(refused.value).endswith("nothing was sent")
    assert checked_sandbox.requests == []


def test_a_send_at_its_caps_goes_out_counted_after_duplicates_and_exclusions(
    checked_sandbox, monkeypatch
):
    with_extras(checked_sandbox, monkeypatch, max_messages=1, max_total_segments=1)
    SendSmsOperator(
        task_id="t",
        **CAPPED,
        text=TWO_SEGMENTS,
        max_messages=2,
        max_total_segments=4,
    ).execute({})
    assert len(checked_sandbox.messages) == 2


@pytest.mark.parametrize(
    ("operator", "said"),
    [
        (
            lambda: SendMmsOperator(
                task_id="t", images="https://e.x/a.png", allow_mms_outside_us_ca=True, **CAPPED
            ),
            "MMS: 2 segment(s) to send",
        ),
        (
            lambda: __import__(
                "airflow_provider_sms.operators.template", fromlist=["SendTemplateOperator"]
            ).SendTemplateOperator(task_id="t", template_name="reminder", **CAPPED),
            "template message: 2 segment(s) to send",
        ),
    ],
)
def test_mms_and_template_messages_count_one_each(checked_sandbox, monkeypatch, operator, said):
    with_extras(checked_sandbox, monkeypatch, max_messages=2, max_total_segments=1)
    with pytest.raises(AirflowFailException, match=re.escape(said)):
        operator().execute({})
    assert checked_sandbox.requests == []


@pytest.mark.parametrize("cap", [0, -1, 2.5, True, "10"])
def test_a_cap_that_is_not_a_positive_whole_number_is_named(checked_sandbox, cap):
    with pytest.raises(AirflowFailException, match="max_messages: must be a whole number"):
        SendSmsOperator(task_id="t", text="x", max_messages=cap, **CAPPED).execute({})
    assert checked_sandbox.requests == []


@pytest.mark.parametrize("value", [0, "many", 2.5])
def test_a_cap_extra_that_is_not_a_positive_whole_number_is_named(
    checked_sandbox, monkeypatch, value
):
    with_extras(checked_sandbox, monkeypatch, max_total_segments=value)
    with pytest.raises(AirflowFailException, match="extra.max_total_segments: must be"):
        SendSmsOperator(task_id="t", text="x", **CAPPED).execute({})
    assert checked_sandbox.requests == []


def test_an_alert_over_max_messages_texts_nobody(checked_sandbox, monkeypatch):
    from airflow_provider_sms.notifications.sms import SmsNotifier

    with_extras(checked_sandbox, monkeypatch, max_messages=1)
    notifier = SmsNotifier(recipients=[US_MOBILE, NL_MOBILE], text="down")
    with pytest.raises(
        AirflowFailException, match=r"SMS: 2 message\(s\) to send .*extra.max_messages allows \(1\)"
    ):
        notifier.notify({})
    assert checked_sandbox.requests == []
    SmsNotifier(recipients=[US_MOBILE, NL_MOBILE], text="down", max_messages=2).notify({})
    assert len(checked_sandbox.messages) == 2


@pytest.mark.parametrize("answer", ["422", "403", "400"])
def test_a_blocked_destination_fails_its_recipients_once_naming_the_country(
    checked_sandbox, answer
):
    # Bird documents the name DestinationBlocked, not the answer: each the sandbox plays.
    checked_sandbox.blocked_destinations = {"regions": ["NL"], "answer": answer}
    dutch = [f"+3161234{n:04d}" for n in range(30)]
    with pytest.raises(AirflowFailException) as failed:
        SendSmsOperator(task_id="t", recipients=[US_MOBILE, *dutch], text="x").execute({})
    text = str(failed.value)
    assert text.startswith("1 of 31 SMS(s) accepted, 30 failed:")
    assert (
        "Bird refused destinations this workspace does not allow (not retried; allow them in "
        "the workspace's settings, or leave them out): NL: 30 recipient(s) (+316******00, "
        "+316******01, +316******02, +316******03, +316******04 and 25 more)"
    ) in text
    assert (
        "+316******29: the workspace blocks destination NL (not retried):"
        in "\n".join(text.splitlines())
        or "... and 10 more" in text
    )
    # Each tried once, none stopping the others (not a wrong access key at 403, nor an outage).
    posts = [r for r in checked_sandbox.requests if r.method == "POST"]
    assert len(posts) == 31 and len(checked_sandbox.messages) == 1


def test_a_blocked_destination_is_a_failed_entry_when_failures_are_tolerated(checked_sandbox):
    checked_sandbox.blocked_destinations = {"regions": ["NL"], "answer": "403"}
    entries = SendSmsOperator(
        task_id="t", recipients=[US_MOBILE, NL_MOBILE], text="x", fail_on_partial_failure=False
    ).execute({})
    assert [e["status"] for e in entries] == ["accepted", "failed"]
    assert entries[1]["error"].startswith("the workspace blocks destination NL (not retried): ")
    assert NL_MOBILE not in entries[1]["error"]
