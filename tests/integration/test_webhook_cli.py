"""Setting up Bird's webhook subscriptions from the command line, against the sandbox: the
module form every minor runs (`airflow bird webhooks` on 3.2 and later is the same code,
run in the deployed tests)."""

import json
import os
import subprocess
import sys

SECRET = "cli-signing-key-0d5e"
URL = "https://airflow.example.com/bird/webhooks/bird_default"


def cli(sandbox, *args: str) -> str:
    connection = sandbox.connection()
    connection["extra"].update(webhook_signing_secret=SECRET, webhook_url=URL)
    env = {**os.environ, "AIRFLOW_CONN_BIRD_DEFAULT": json.dumps(connection)}
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_sms.webhooks.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert SECRET not in result.stdout + result.stderr
    return result.stdout


def test_set_up_twice_subscribes_each_event_once(bird_sandbox):
    first = cli(bird_sandbox, "set-up")
    assert first.count(f"-> {URL}: created") == 3, first
    second = cli(bird_sandbox, "set-up")
    assert second.count(f"-> {URL}: already there") == 3, second
    subscriptions = bird_sandbox.webhook_subscriptions()
    assert sorted(s["event"] for s in subscriptions) == [
        "sms.inbound",
        "sms.interaction",
        "sms.outbound",
    ]
    channel = bird_sandbox.connection()["extra"]["channel_id"]
    assert all(s["eventFilters"] == [{"key": "channelId", "value": channel}] for s in subscriptions)
    assert all(s["url"] == URL for s in subscriptions)


def test_list_and_delete(bird_sandbox):
    cli(bird_sandbox, "set-up", "--events", "sms.inbound")
    (subscription,) = bird_sandbox.webhook_subscriptions()
    listed = cli(bird_sandbox, "list")
    assert subscription["id"] in listed and "1 subscription(s)" in listed
    assert f"deleted {subscription['id']}" in cli(bird_sandbox, "delete", subscription["id"])
    assert bird_sandbox.webhook_subscriptions() == []
