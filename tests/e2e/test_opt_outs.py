"""An opted-out number receives nothing whichever channel the interactions report read and
whatever Bird answers for a message read under a channel not its own, in real `airflow dags
test` runs against the sandbox."""

import pytest
from support import TEST_DAGS, receiver

from bird_sandbox import MMS_CHANNEL_ID, REPLIES_STOP_US, SMS_CHANNEL_ID

CUSTOMER = "+12025550160"


def run(airflow_home, sandbox, dag_id):
    sandbox.reply_delay = 0.2  # the STOP is in before the messages are delivered
    return airflow_home.dags_test(
        dag_id,
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS / "opt_out_channels.py"),
        **dict([sandbox.connection_env()]),
    )


def received(sandbox, number):
    return [m for m in sandbox.messages if m["direction"] == "outgoing" and receiver(m) == number]


@pytest.mark.parametrize(
    ("other_channel", "reason"),
    [
        ("not_found", "2 not found there"),
        ("empty", f"2 sent on channel {SMS_CHANNEL_ID}"),
        ("listed", f"2 sent on channel {SMS_CHANNEL_ID}"),
    ],
)
def test_a_report_on_the_wrong_channel_fails_and_the_reminder_is_never_sent(
    airflow_home, checked_sandbox, other_channel, reason
):
    checked_sandbox.listing = {"other_channel": other_channel}
    result = run(airflow_home, checked_sandbox, "opt_out_report_on_default_channel")
    assert result.returncode != 0, result.stdout[-6000:]
    said = f"2 of 2 message(s) cannot be read on channel {MMS_CHANNEL_ID}: {reason}"
    assert said in result.stdout, result.stdout[-6000:]
    assert len(received(checked_sandbox, REPLIES_STOP_US)) == 1  # the campaign only
    assert len(received(checked_sandbox, CUSTOMER)) == 1


def test_the_report_on_the_campaigns_channel_leaves_the_opted_out_number_out(
    airflow_home, checked_sandbox
):
    checked_sandbox.listing = {"other_channel": "empty"}
    result = run(airflow_home, checked_sandbox, "opt_out_report_on_campaign_channel")
    assert result.returncode == 0, result.stdout[-6000:]
    assert len(received(checked_sandbox, REPLIES_STOP_US)) == 1  # the campaign only
    assert len(received(checked_sandbox, CUSTOMER)) == 2
