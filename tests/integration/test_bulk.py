"""Large recipient lists: concurrency, rate limiting, the batch API and the XCom shape."""

from collections import Counter

from support import numbers

from airflow_provider_sms.operators.sms import SendSmsOperator


def receivers(sandbox):
    return Counter(m["receiver"]["contacts"][0]["identifierValue"] for m in sandbox.messages)


def test_rate_limiter_keeps_5000_sends_under_the_workspace_limit(checked_sandbox):
    checked_sandbox.max_posts_per_second = 500
    op = SendSmsOperator(
        task_id="bulk", recipients=numbers(5000), text="Sale starts now", max_concurrency=32
    )
    summary = op.execute(context={})
    statuses = Counter(r.status for r in checked_sandbox.requests)
    assert statuses == {202: 5000}, f"the sandbox answered {dict(statuses)}"
    assert summary["accepted"] == 5000 and summary["failed"] == 0
    assert len(receivers(checked_sandbox)) == 5000


def test_batch_api_sends_chunks_of_at_most_100(checked_sandbox):
    recipients = numbers(250)
    results = SendSmsOperator(
        task_id="bulk", recipients=recipients, text="hi", use_batch_api=True
    ).execute(context={})
    batch_posts = [r for r in checked_sandbox.requests if r.path.endswith("/batch/messages")]
    assert sorted(len(r.json["messageRequests"]) for r in batch_posts) == [50, 100, 100]
    assert receivers(checked_sandbox) == Counter(recipients)
    assert {r["status"] for r in results} == {"submitted"}
    assert len({r["batch_id"] for r in results}) == 3
    assert [r["recipient"] for r in results if r["batch_id"]] and len(results) == 250


def test_batch_results_checked_report_async_rejections(checked_sandbox):
    checked_sandbox.status_delays = None  # Bird's status at listing time: still accepted
    recipients = numbers(150)
    checked_sandbox.reject_recipients = {recipients[7], recipients[120]}
    results = SendSmsOperator(
        task_id="bulk",
        recipients=recipients,
        text="hi",
        use_batch_api=True,
        check_batch_results=True,
        fail_on_partial_failure=False,
    ).execute(context={})
    by_status = Counter(r["status"] for r in results)
    assert by_status == {"accepted": 148, "failed": 2}
    failed = {r["recipient"] for r in results if r["status"] == "failed"}
    assert failed == {recipients[7], recipients[120]}
    stored_ids = {m["id"] for m in checked_sandbox.messages}
    assert all(r["message_id"] in stored_ids for r in results if r["status"] == "accepted")


def test_xcom_is_a_summary_above_the_entries_limit(checked_sandbox):
    checked_sandbox.reject_recipients = {numbers(1)[0]}
    summary = SendSmsOperator(
        task_id="bulk",
        recipients=numbers(30),
        text="hi",
        xcom_entries_limit=10,
        fail_on_partial_failure=False,
    ).execute(context={})
    assert summary["total"] == 30
    assert summary["accepted"] == 29 and summary["failed"] == 1
    assert summary["failures"][0]["recipient"] == numbers(1)[0]
    assert "xcom_entries_limit=10" in summary["entries_omitted"]
