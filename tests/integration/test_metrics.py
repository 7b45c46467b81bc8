"""The figures each send, alert and wait gives Airflow's Stats (tests/e2e/test_production.py
has them reach a StatsD server): here, what each outcome counts, with its tags."""

from collections import Counter
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from test_dry_run import reminder_template
from test_operator_guards import NL_MOBILE, US_MOBILE, with_extras

from airflow_provider_sms import metrics
from airflow_provider_sms.notifications.sms import SmsNotifier
from airflow_provider_sms.operators.sms import SendSmsOperator


class RecordedStats:
    def __init__(self):
        self.counters: Counter = Counter()
        self.tags: dict[str, dict] = {}
        self.timers: list[tuple[str, float]] = []

    def incr(self, stat, count=1, rate=1, *, tags=None):
        self.counters[stat] += count
        self.tags[stat] = tags

    def timing(self, stat, dt, *, tags=None):
        self.timers.append((stat, dt.total_seconds()))


@pytest.fixture
def stats(monkeypatch) -> RecordedStats:
    recorded = RecordedStats()
    monkeypatch.setattr(metrics, "_stats", lambda: recorded)
    return recorded


def a_task(dag_id="orders", task_id="send", run_id="r") -> dict:
    ti = SimpleNamespace(dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=-1, try_number=1)
    # With its DAG (none here), as Airflow 3.0's notifiers need.
    return {"dag": None, "ti": ti}


def test_a_partly_refused_send_counts_each_outcome_tagged_with_its_task(checked_sandbox, stats):
    checked_sandbox.blocked_destinations = {"regions": ["NL"], "answer": "422"}
    send = SendSmsOperator(
        task_id="send",
        recipients=[US_MOBILE, NL_MOBILE, "+14155552672"],
        exclude_recipients="+14155552672",
        text="Ünïcode " * 10,  # 80 UCS-2 characters: two segments
        fail_on_partial_failure=False,
    )
    send.execute(a_task())
    assert stats.counters == {
        "bird.messages.accepted": 1,
        "bird.messages.failed": 1,
        "bird.messages.suppressed": 1,
        "bird.segments": 2,
    }
    assert stats.tags["bird.segments"] == {
        "conn_id": "bird_default",
        "kind": "sms",
        "dag_id": "orders",
        "task_id": "send",
    }
    # Every request waited its turn under the rate limit, however briefly.
    assert [name for name, _ in stats.timers] == ["bird.rate_limit.wait"]


def test_a_failed_send_still_counts_what_it_sent(checked_sandbox, stats):
    checked_sandbox.blocked_destinations = {"regions": ["NL"], "answer": "403"}
    with pytest.raises(AirflowFailException):
        SendSmsOperator(task_id="t", recipients=[US_MOBILE, NL_MOBILE], text="x").execute({})
    assert stats.counters == {
        "bird.messages.accepted": 1,
        "bird.messages.failed": 1,
        "bird.segments": 1,
    }


def test_429s_and_other_retries_are_counted(checked_sandbox, stats):
    checked_sandbox.inject("status", count=2, status=429, method="POST")
    checked_sandbox.inject("status", count=1, status=503, method="POST")
    SendSmsOperator(task_id="t", recipients=[US_MOBILE], text="x").execute({})
    assert stats.counters["bird.requests.throttled"] == 2
    assert stats.counters["bird.requests.retried"] == 3
    assert stats.counters["bird.messages.accepted"] == 1


def test_dry_runs_count_what_they_did_not_send(checked_sandbox, monkeypatch, stats):
    SendSmsOperator(task_id="t", recipients=[US_MOBILE, NL_MOBILE], text="x", dry_run=True).execute(
        {}
    )
    with_extras(checked_sandbox, monkeypatch, dry_run=True)
    SmsNotifier(recipients=NL_MOBILE, text="down").notify({})
    assert stats.counters == {"bird.messages.dry_run": 3}
    assert checked_sandbox.requests == []


def test_a_template_message_counts_one_segment_each(checked_sandbox, stats):
    reminder_template().execute({})
    assert stats.counters["bird.messages.accepted"] == 2
    assert stats.counters["bird.segments"] == 2
    assert stats.tags["bird.segments"]["kind"] == "template_message"


def test_an_alert_within_its_cooldown_counts_as_suppressed(checked_sandbox, stats):
    for run_id in ("r1", "r2"):
        notifier = SmsNotifier(recipients=NL_MOBILE, text="down", cooldown=600)
        notifier(a_task(run_id=run_id))
    assert stats.counters == {
        "bird.messages.accepted": 1,
        "bird.segments": 1,
        "bird.messages.suppressed": 1,
    }


def test_a_status_name_bird_may_add_is_counted_as_other(stats):
    metrics.statuses({"delivered": 2, "Some New-Status": 1}, {})
    assert stats.counters == {"bird.status.delivered": 2, "bird.status.other": 1}
