"""What the provider's triggers share (`triggers/polling.py`)."""

from airflow_provider_sms.triggers.polling import MaskedEvent, mask_event

NUMBER = "+12025550170"


def test_an_sms_answers_log_line_names_the_approver_masked_and_the_reply_by_its_length():
    reply = {"message_id": "m1", "from": NUMBER, "text": "approve ok", "comment": "ok"}
    payload = {
        "chosen_options": ["Approve"],
        "responded_by_user": {"id": NUMBER, "name": "SMS +120******70"},
        "sms_reply": reply,
    }
    shown = repr(MaskedEvent(payload))
    assert NUMBER not in shown and "ok" not in shown
    assert mask_event(payload) == {
        "chosen_options": ["Approve"],
        "responded_by_user": "SMS +120******70",
        "sms_reply": {
            "message_id": "m1",
            "from": "+120******70",
            "text": "<10 characters>",
            "comment": "<2 characters>",
        },
    }
    assert payload["sms_reply"]["from"] == NUMBER  # the event itself keeps it


def test_what_is_no_message_shows_as_it_is():
    assert mask_event({"status": "timeout", "text": "2 replies"}) == {
        "status": "timeout",
        "text": "2 replies",
    }
    assert mask_event("x") == "x"
