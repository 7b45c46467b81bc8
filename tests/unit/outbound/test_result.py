"""The send's XCom: its shape, written and read back by `SendResult` alone."""

import ast
import logging
import re
from pathlib import Path

import pytest

import airflow_provider_sms
from airflow_provider_sms.bird.errors import BirdValidationError, InvalidMessageError
from airflow_provider_sms.bird.fanout import Accepted, Failure, SendReport
from airflow_provider_sms.message.outgoing import Outgoing
from airflow_provider_sms.message.schedule import Schedule
from airflow_provider_sms.outbound.prepare import SendPolicy
from airflow_provider_sms.outbound.result import SendResult, finish, preview

LOG = logging.getLogger("test")
CHANNEL = "8e00c009-feea-4c29-af72-c179870776ea"
M1, M2 = "0b0c2f4e-53a5-4d3b-9b8e-1c1e1b0f6a11", "5f7a3c1d-2b4e-4f60-8a9b-0c1d2e3f4a5b"
B1 = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
A, B, C, D, E = (f"+1202555010{i}" for i in range(5))
DUE = "2026-12-07T09:00:00Z"
ERROR = "request failed: 422: bad number"


def outgoing(**changes) -> Outgoing:
    fields = {
        "kind": "SMS",
        "recipients": (A, B, C, D),
        "channel_id": CHANNEL,
        "content": {"body": {"type": "text", "text": {"text": "hi"}}},
        "suppressed": (E,),
        "schedule": Schedule(due={B: DUE}),
    }
    return Outgoing(**{**fields, **changes})


def report() -> SendReport:
    return SendReport(
        accepted=[
            Accepted(B, M2, "accepted"),
            Accepted(C, None, "submitted", B1, in_batch=True),
        ],
        failures=[Failure(D, BirdValidationError("bad number", code="422"))],
        batch_ids=[B1],
    )


def written(limit: int = 1000):
    policy = SendPolicy(max_concurrency=1, fail_on_partial_failure=False, xcom_entries_limit=limit)
    earlier = [Accepted(A, M1, "already_sent")]
    return finish(outgoing(), policy, report(), earlier, {}, LOG, durable=True)


def test_a_sends_entries_are_written_in_one_shape():
    assert written() == [
        {"recipient": A, "message_id": M1, "status": "already_sent"},
        {"recipient": B, "message_id": M2, "status": "accepted", "due": DUE},
        {"recipient": C, "message_id": None, "status": "submitted", "batch_id": B1},
        {"recipient": D, "message_id": None, "status": "failed", "error": ERROR},
        {"recipient": E, "message_id": None, "status": "suppressed"},
    ]


def test_a_large_sends_summary_is_written_in_one_shape():
    assert written(limit=3) == {
        "total": 4,
        "accepted": 2,
        "already_sent": 1,
        "failed": 1,
        "failures": [{"recipient": D, "message_id": None, "status": "failed", "error": ERROR}],
        "suppressed": 1,
        "batch_ids": [B1],
        "entries_omitted": "more than xcom_entries_limit=3 recipients; per-recipient entries "
        "are not pushed to XCom",
        "due_by_hour": {"2026-12-07T09Z": 1, "now": 3},
    }


def test_a_dry_run_is_written_in_one_shape():
    result = preview(outgoing(), log=LOG)
    assert sorted(result) == [
        "channel_id", "dry_run", "due_by_hour", "kind", "messages", "requests", "suppressed",
        "total",
    ]  # fmt: skip
    assert result["requests"][0]["receiver"]["contacts"][0]["identifierValue"] == "+120******00"


def test_what_is_written_reads_back():
    sent = SendResult.read(written(), "message_ids")
    assert sent.targets() == ([M1, M2], [B1])
    assert sent.recipients() == [A, B, C]
    assert sent.message_ids(first=5) == [M1, M2]
    assert sent.unsent() == (
        1,
        [{"recipient": "+120******03", "status": "not_sent", "reason": ERROR, "code": None}],
    )
    with pytest.raises(InvalidMessageError, match=r"message_ids\[2\]: not a message id"):
        sent.messages()  # a batch member not listed yet names no message
    summary = SendResult.read(written(limit=3), "messages")
    assert summary.targets() == ([], [B1])
    assert summary.unsent()[0] == 1
    with pytest.raises(InvalidMessageError, match="^messages: a send summary"):
        summary.messages()


def test_ids_given_instead_of_a_result_read_as_messages():
    assert SendResult.read(f"{M1}, {M2}", "messages").messages() == [(M1, None), (M2, None)]
    with pytest.raises(InvalidMessageError, match=r"messages\[1\]: expected a UUID"):
        SendResult.read([M1, "../x"], "messages").messages()
    with pytest.raises(InvalidMessageError, match="^messages: expected a send task's result"):
        SendResult.read([], "messages")


PACKAGE = Path(airflow_provider_sms.__file__).parent
# Names only the send's result has: the Airflow-free client must not know them.
RESULT_NAMES = re.compile(r"already_sent|entries_omitted|due_by_hour|xcom_entries_limit|UNSENT")


def test_the_airflow_free_client_knows_nothing_of_the_sends_result():
    found = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted((PACKAGE / "bird").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if RESULT_NAMES.search(line)
    ]
    assert found == []


def test_only_the_result_module_reads_or_writes_the_results_fields():
    owners = {"outbound/result.py", "outbound/ledger.py"}  # the ledger names earlier sends
    fields = {"already_sent", "entries_omitted", "suppressed", "due_by_hour"}
    found = [
        f"{name}: {node.value if isinstance(node, ast.Constant) else node.id}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (name := str(path.relative_to(PACKAGE))) not in owners
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.Constant) and node.value in fields)
        or (isinstance(node, ast.Name) and node.id == "UNSENT_STATUSES")
    ]
    assert found == []
