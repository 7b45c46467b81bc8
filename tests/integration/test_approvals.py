"""Reading a question's answer from the replies on its channel (real HTTP to the sandbox), and
SmsApprovalOperator's checks: bad input fails before any request, naming the field."""

import logging
import time

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_sms.bird.inbound import Cursor
from airflow_provider_sms.delivery.approvals import look_for_answer
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.model.approval import Question
from airflow_provider_sms.operators.approval import SmsApprovalOperator

APPROVER = "+12025550170"
OTHER = "+12025550171"
LOG = logging.getLogger("approvals-test")


def look(sandbox, question, *, since, code_required=lambda number: False):
    with BirdHook() as hook:
        return look_for_answer(
            hook,
            sandbox.mms_channel_id,
            Cursor.since(since),
            question,
            {APPROVER},
            code_required=code_required,
            log=LOG,
        )


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
    # Read again from the cursor, the next answer is the later one.
    with BirdHook() as hook:
        again, _ = look_for_answer(
            hook,
            checked_sandbox.mms_channel_id,
            cursor,
            question,
            {APPROVER},
            code_required=lambda n: False,
            log=LOG,
        )
    assert again["text"] == "yes, sorry"
    assert before < asked


def test_with_other_questions_open_only_a_reply_with_the_code_answers(checked_sandbox, caplog):
    asked = time.time()
    checked_sandbox.receive(APPROVER, "approve")
    checked_sandbox.receive(APPROVER, "QQQQ approve")
    checked_sandbox.receive(APPROVER, "k7qd reject")
    question = Question.build(None, "K7QD", approval=True)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        found, _ = look(checked_sandbox, question, since=asked - 0.01, code_required=lambda n: True)
    assert found["text"] == "k7qd reject" and found["option"] == "Reject"
    assert "with other questions open to them, a reply starts with K7QD" in caplog.text


@pytest.mark.parametrize(
    ("arguments", "field", "problem"),
    [
        ({"approvers": "+1202555"}, "approvers", "invalid"),
        ({"approvers": []}, "approvers", "at least one"),
        ({"options": "{{ 'deploy,Deploy' }}"}, "options", "differ only in case"),
        ({"subject": "x" * 400, "max_segments": 2}, "subject", "segments"),
    ],
)
def test_bad_input_fails_before_any_request_naming_the_field(
    checked_sandbox, arguments, field, problem
):
    from datetime import datetime

    from airflow.sdk import DAG

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
