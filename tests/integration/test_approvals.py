"""Reading a question's answer from the replies on its channel (real HTTP to the sandbox), and
SmsApprovalOperator's checks: bad input fails before any request, naming the field."""

import logging
import time

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from support import HITL

from airflow_provider_sms.bird.incoming import Cursor
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.inbound.answers import look_for_answer
from airflow_provider_sms.inbound.question import Question

APPROVER = "+12025550170"
OTHER = "+12025550171"
LOG = logging.getLogger("approvals-test")


def look(sandbox, question, *, since, cursor=None):
    with BirdHook() as hook:
        return look_for_answer(
            hook,
            sandbox.mms_channel_id,
            cursor or Cursor.since(since),
            question,
            {APPROVER},
            asked=since,
            log=LOG,
        )


def ask(sandbox, code: str) -> None:
    """An approval question with `code` texted to the approver, as the operator words it."""
    text = Question.build(None, code, approval=True).text("Go ahead?", None, None)
    message = {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": APPROVER}]},
        "body": {"type": "text", "text": {"text": text}},
    }
    with BirdHook() as hook:
        hook.client.send_message(sandbox.mms_channel_id, message)


def test_the_first_reply_from_an_approver_naming_an_option_is_the_answer(checked_sandbox, caplog):
    before = time.time()
    checked_sandbox.receive(APPROVER, "yes (before the question)")
    time.sleep(0.05)
    asked = time.time()
    checked_sandbox.receive(OTHER, "approve")
    checked_sandbox.receive(APPROVER, "maybe later")
    answer = checked_sandbox.receive(APPROVER, "No: the numbers look wrong")
    checked_sandbox.receive(APPROVER, "yes, sorry")
    question = Question.build(None, "K7QD", approval=True)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        found, cursor = look(checked_sandbox, question, since=asked - 0.01)
    assert found["message_id"] == answer["id"] and found["from"] == APPROVER
    assert (found["option"], found["comment"]) == ("Reject", "the numbers look wrong")
    assert "Ignored a reply from +120******71: not an approver" in caplog.text
    assert "Ignored a reply from +120******70 (11 characters)" in caplog.text
    assert APPROVER not in caplog.text and OTHER not in caplog.text
    # The cursor stays before the answer until the caller has recorded it.
    assert look(checked_sandbox, question, since=asked - 0.01, cursor=cursor)[0] == found
    assert before < asked


def test_with_other_questions_open_only_a_reply_with_the_code_answers(checked_sandbox, caplog):
    asked = time.time()
    ask(checked_sandbox, "K7QD")
    ask(checked_sandbox, "H3MX")  # open: the channel shows no answer to it
    checked_sandbox.receive(APPROVER, "approve")
    checked_sandbox.receive(APPROVER, "QQQQ approve")
    checked_sandbox.receive(APPROVER, "k7qd reject")
    question = Question.build(None, "K7QD", approval=True)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        found, _ = look(checked_sandbox, question, since=asked - 0.01)
    assert found["text"] == "k7qd reject" and found["option"] == "Reject"
    assert (
        "(1 other question(s) were open to that number; a reply starting with K7QD does)"
        in caplog.text
    )


def test_a_channel_too_busy_to_read_back_needs_the_code(checked_sandbox, caplog):
    """What else was asked of the number cannot be read within CODELESS_PAGES pages (a
    listing oldest first, 2,100 messages): a reply without the code answers nothing."""
    from airflow_provider_sms.inbound.answers import CODELESS_PAGES
    from airflow_provider_sms.operators.sms import SendSmsOperator

    checked_sandbox.listing = {"order": "oldest_first"}
    SendSmsOperator(
        task_id="campaign",
        channel_id=checked_sandbox.mms_channel_id,
        recipients=[f"+1202555{n:04d}" for n in range(2000, 2000 + CODELESS_PAGES * 100 + 100)],
        text="Our winter sale starts today.",
    ).execute({})
    asked = time.time()
    ask(checked_sandbox, "K7QD")
    checked_sandbox.receive(APPROVER, "yes")
    question = Question.build(None, "K7QD", approval=True)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        found, _ = look(checked_sandbox, question, since=asked - 0.01)
    assert found is None
    assert "what else was asked of that number could not be read" in caplog.text


@pytest.mark.parametrize(
    ("arguments", "field", "problem"),
    [
        ({"approvers": "+1202555"}, "approvers", "invalid"),
        ({"approvers": []}, "approvers", "at least one"),
        ({"options": "{{ 'deploy,Deploy' }}"}, "options", "differ only in case"),
        ({"subject": "x" * 400, "max_segments": 2}, "subject", "segments"),
    ],
)
@pytest.mark.needs_airflow("3.1", feature=HITL)
def test_bad_input_fails_before_any_request_naming_the_field(
    checked_sandbox, arguments, field, problem
):
    from datetime import datetime

    from airflow.providers.common.compat.sdk import DAG

    from airflow_provider_sms.operators.approval import SmsApprovalOperator

    base = {"task_id": "ask", "subject": "Go?", "approvers": APPROVER, **arguments}
    with DAG("approvals", start_date=datetime(2026, 1, 1)):
        operator = SmsApprovalOperator(**base)
    operator.render_template_fields({})
    with pytest.raises(AirflowFailException, match=f"{field}: .*{problem}"):
        operator.execute({"ti": _Ti()})
    assert checked_sandbox.requests == []


class _Ti:
    dag_id, run_id, task_id, map_index, max_tries = "approvals", "manual__1", "ask", -1, 0
    id = "0195b5a4-0000-7000-8000-000000000001"
