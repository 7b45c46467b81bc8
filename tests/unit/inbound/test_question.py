"""A question answered by SMS: its code, its text, how replies read as answers, and the
operator's checks at parse time (unit tests open no socket)."""

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import DAG
from support import HITL

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.inbound.question import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Question,
    open_questions,
    question_code,
)

NEEDS_HITL = pytest.mark.needs_airflow("3.1", feature=HITL)
APPROVAL = Question.build(None, "K7QD", approval=True)
CHOICE = Question.build(["deploy", "Deploy now", "roll back"], "B2XM", approval=False)


def test_a_code_is_short_unambiguous_and_the_same_on_every_try():
    code = question_code("dag", "run", "task", -1)
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert not set(code) & set("01OIL")
    assert question_code("dag", "run", "task", -1) == code
    others = {question_code("dag", "run", f"task_{i}", -1) for i in range(200)}
    assert len(others) >= 195  # distinct for different tasks, but for rare collisions


@pytest.mark.parametrize(
    ("text", "option", "comment"),
    [
        ("approve", "Approve", ""),
        ("APPROVE", "Approve", ""),
        ("  Yes, go ahead", "Approve", "go ahead"),
        ("no!", "Reject", ""),
        ("Reject: too risky today", "Reject", "too risky today"),
        ("k7qd yes", "Approve", ""),
        ("K7QD: no - wait for Monday", "Reject", "wait for Monday"),
    ],
)
def test_an_approval_takes_its_words_with_or_without_the_code(text, option, comment):
    answer = APPROVAL.read(text, code_required=False)
    assert (answer.option, answer.comment) == (option, comment)


@pytest.mark.parametrize("text", ["approved", "yesterday", "nope", "maybe", "", "ok", "B2XM yes"])
def test_a_reply_that_names_no_option_is_no_answer(text):
    assert APPROVAL.read(text, code_required=False) is None


def test_with_other_questions_open_a_reply_must_start_with_the_code():
    assert APPROVAL.read("yes", code_required=True) is None
    assert APPROVAL.read("K7QD yes", code_required=True).option == "Approve"
    assert APPROVAL.read("K7QDyes", code_required=True) is None  # the code is a word of its own


def test_a_choice_takes_the_longest_option_a_reply_starts_with():
    assert CHOICE.read("deploy now please", code_required=False).option == "Deploy now"
    assert CHOICE.read("Deploy, then tell me", code_required=False).option == "deploy"
    assert CHOICE.read("ROLL BACK asap", code_required=False).comment == "asap"
    assert CHOICE.read("yes", code_required=False) is None  # yes/no are an approval's only


def test_the_text_shows_the_options_the_code_and_the_link():
    text = CHOICE.text("Release 4.2", "Canary green.", "https://airflow.example/dags/x")
    assert text.splitlines() == [
        "Release 4.2",
        "Canary green.",
        "Reply with one of: deploy, Deploy now, roll back, then any comment.",
        "Code B2XM: start your reply with it if other questions are open.",
        "https://airflow.example/dags/x",
    ]
    assert "Reply APPROVE or REJECT (or YES / NO)" in APPROVAL.text("Go?", None, None)
    assert "http" not in APPROVAL.text("Go?", None, None)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ([], "expected a non-empty list"),
        ("deploy", "expected a non-empty list"),
        (["deploy", ""], "non-empty text"),
        (["deploy", 3], "non-empty text"),
        (["Deploy", "deploy"], "differ only in case"),
        (["b2xm", "wait"], "the question's code"),
    ],
)
def test_options_a_reply_could_not_tell_apart_are_refused(options, problem):
    with pytest.raises(InvalidMessageError, match=f"options: .*{problem}"):
        Question.build(options, "B2XM", approval=False)


@NEEDS_HITL
def test_the_operator_is_an_approval_without_options_and_checks_its_arguments():
    from airflow_provider_sms.operators.approval import SmsApprovalOperator

    with DAG("approvals", start_date=datetime(2026, 1, 1)):
        approval = SmsApprovalOperator(
            task_id="a", subject="Go?", approvers="+12025550170", defaults="Reject"
        )
        templated = SmsApprovalOperator(
            task_id="b", subject="Which?", approvers="+12025550170", options="{{ params.o }}"
        )
        with pytest.raises(ValueError, match="multiple"):
            SmsApprovalOperator(task_id="c", subject="?", approvers="+1", multiple=True)
        with pytest.raises(ValueError, match="poll_interval"):
            SmsApprovalOperator(task_id="d", subject="?", approvers="+1", poll_interval=0)
        with pytest.raises(ValueError, match="subset of options"):
            SmsApprovalOperator(task_id="e", subject="?", approvers="+1", defaults="Maybe")
    assert approval.options == ["Approve", "Reject"] and approval.defaults == ["Reject"]
    assert templated.options == "{{ params.o }}"  # checked once rendered
    assert {"approvers", "options", "subject", "body"} <= set(approval.template_fields)


@NEEDS_HITL
def test_the_trigger_serializes_what_it_needs_to_restart():
    from airflow_provider_sms.triggers.approval import SmsApprovalTrigger

    trigger = SmsApprovalTrigger(
        ti_id="0195b5a4-0000-7000-8000-000000000001",
        options=["Approve", "Reject"],
        params={},
        defaults=["Reject"],
        timeout_datetime=datetime(2026, 12, 3, 12, 0) + timedelta(hours=1),
        poke_interval=2.0,
        approvers=["+12025550170"],
        code="K7QD",
        channel_id="6b52e9cb-2ddf-45b5-8aea-62882e999fb7",
        after=1_764_000_000.0,
        approval=True,
        bird_conn_id="bird_other",
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_sms.triggers.approval.SmsApprovalTrigger"
    again = SmsApprovalTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert kwargs["approvers"] == ["+12025550170"] and kwargs["defaults"] == ["Reject"]


@pytest.mark.parametrize(
    ("options", "reply", "option", "comment"),
    [
        (["Straße", "Weg"], "STRASSE - closed on Monday", "Straße", "closed on Monday"),
        (["Straße", "Weg"], "straße: fine", "Straße", "fine"),
        (["İzmir", "Ankara"], "İzmir, by train", "İzmir", "by train"),
    ],
)
def test_an_option_whose_folding_changes_its_length_takes_a_comment(
    options, reply, option, comment
):
    answer = Question.build(options, "B2XM", approval=False).read(reply, code_required=False)
    assert (answer.option, answer.comment) == (option, comment)


@pytest.mark.parametrize(
    "options",
    [
        ["Deploy", "D\u0435ploy"],  # a Cyrillic е
        ["rollback", "r\u03bfllback"],  # a Greek ο
        ["resume", "résumé"],
        ["ＤＥＰＬＯＹ", "deploy now", "Deploy"],  # fullwidth letters
    ],
)
def test_options_that_look_alike_are_refused(options):
    with pytest.raises(InvalidMessageError, match="options: options look alike"):
        Question.build(options, "B2XM", approval=False)


def test_an_option_that_starts_with_the_code_can_be_chosen():
    question = Question.build(["D67U-now", "later"], "D67U", approval=False)
    for code_required in (False, True):
        answer = question.read("d67u-now please", code_required=code_required)
        assert (answer.option, answer.comment, answer.with_code) == ("D67U-now", "please", True)
    assert question.read("D67U later", code_required=True).option == "later"


def test_the_question_a_text_asks_is_read_back_from_it():
    text = CHOICE.text("Release 4.2", "Reply with one of: a, b, then any comment.", "https://x")
    assert Question.asked_in(text) == CHOICE
    assert Question.asked_in(APPROVAL.text("Go?", None, None)) == APPROVAL
    assert Question.asked_in("Our winter sale starts today.") is None
    # A text whose options cannot be read back still names its code: no reply answers it.
    unread = Question.asked_in(
        "Go?\nCode K7QD: start your reply with it if other questions are open."
    )
    assert unread.code == "K7QD" and unread.read("K7QD yes", code_required=True) is None


def test_questions_stay_open_until_a_reply_on_the_channel_answers_them():
    other = Question.build(None, "H3MX", approval=True)
    asked = [(10.0, APPROVAL), (20.0, other)]
    assert open_questions(asked, [], at=30.0) == {"K7QD", "H3MX"}
    assert open_questions(asked, [], at=15.0) == {"K7QD"}  # the other asked after the reply
    assert open_questions(asked, [], at=20.0) == {"K7QD", "H3MX"}  # asked in the same instant
    # Answered with its code; without a code only while it was the only one open.
    assert open_questions(asked, [(25.0, "H3MX no")], at=30.0) == {"K7QD"}
    assert open_questions(asked, [(15.0, "yes")], at=30.0) == {"H3MX"}
    assert open_questions(asked, [(25.0, "yes")], at=30.0) == {"K7QD", "H3MX"}
    assert open_questions(asked, [(25.0, "H3MX maybe")], at=30.0) == {"K7QD", "H3MX"}
    # A reply of the same instant as the one judged does not count; a question asked again
    # (a cleared task) is open again.
    assert open_questions(asked, [(30.0, "H3MX no")], at=30.0) == {"K7QD", "H3MX"}
    again = [*asked, (26.0, other)]
    assert open_questions(again, [(25.0, "H3MX no")], at=30.0) == {"K7QD", "H3MX"}


class _Store(dict):
    def set(self, key, value):
        self[key] = value


@NEEDS_HITL
def test_a_cleared_approval_records_when_it_asks_again(monkeypatch):
    from airflow_provider_sms.operators.approval import SmsApprovalOperator

    """A clear raises max_tries: the question asked again is waited for from then, and its
    response_timeout counts from then; a retry (same max_tries) keeps the first time."""
    import time as clock

    with DAG("approvals", start_date=datetime(2026, 1, 1)):
        operator = SmsApprovalOperator(task_id="a", subject="Go?", approvers="+12025550170")
    store = _Store()
    ti = SimpleNamespace(max_tries=0)
    monkeypatch.setattr(clock, "time", lambda: 1000.0)
    assert operator._asked_at({"ti": ti, "task_state_store": store}) == 1000.0
    monkeypatch.setattr(clock, "time", lambda: 2000.0)
    assert operator._asked_at({"ti": ti, "task_state_store": store}) == 1000.0  # a retry
    ti.max_tries = 1  # cleared
    assert operator._asked_at({"ti": ti, "task_state_store": store}) == 2000.0
