"""Every Python fragment of the documentation (README.md, docs/), run against the sandbox:
executed, then each operator it built rendered and executed, each `test_*` function taking
`bird_sandbox` called (see tests/docpages.py). The DAG examples run in
tests/e2e/test_doc_dags.py."""

import pytest
from docpages import python_examples, run_fragment

from airflow_provider_sms.bird.facts import DEFAULT_FAILURE_STATUSES, MESSAGE_STATUSES

FRAGMENTS = [example for example in python_examples() if not example.is_dag]
BATCH_CHECKS = [example for example in FRAGMENTS if "check_batch_results=True" in example.code]
# What a send reports of a recipient it sent to: Bird's status when it last saw the message
# (a checked batch is listed after it is sent, by when its messages may have moved on to
# processing, sent or delivered), or "submitted" in a batch Bird had not validated yet.
SENT = (MESSAGE_STATUSES - set(DEFAULT_FAILURE_STATUSES)) | {"submitted"}


def assert_each_sent(results: dict) -> None:
    for task_id, result in results.items():
        if isinstance(result, list):  # one entry per recipient
            odd = [e for e in result if e["status"] not in SENT]
            assert result and not odd, (task_id, odd)


@pytest.mark.parametrize("example", [example.param for example in FRAGMENTS])
def test_the_fragment_runs_against_the_sandbox(checked_sandbox, example):
    assert_each_sent(run_fragment(example, checked_sandbox))


@pytest.mark.parametrize("example", [example.param for example in BATCH_CHECKS])
def test_a_batch_check_reports_statuses_that_moved_on_before_it_listed(checked_sandbox, example):
    # A busy machine lists the batches after the sandbox's first status delay (0.2 s):
    # here every message is delivered by then.
    checked_sandbox.status_delays = {"processing": 0, "sent": 0, "delivered": 0}
    results = run_fragment(example, checked_sandbox)
    assert_each_sent(results)
    assert {e["status"] for result in results.values() for e in result} == {"delivered"}
