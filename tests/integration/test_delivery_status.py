"""The sensor and its trigger against the sandbox, whose messages move through Bird's
statuses over time."""

import asyncio
import time

from airflow.providers.common.compat.sdk import PokeReturnValue
from support import event_loop_delays

from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.message_status import MessageStatusSensor
from airflow_provider_sms.triggers.message_status import MessageStatusTrigger
from bird_sandbox import DELIVERY_FAILS_NL

NUMBERS = ["+31620000001", "+31620000002"]


def test_a_poking_sensor_is_done_once_bird_reports_delivery(stepped_sandbox, sandbox_clock):
    sent = SendSmsOperator(task_id="send", recipients=NUMBERS, text="x").execute({})
    sensor = MessageStatusSensor(task_id="wait", message_ids=sent, deferrable=False)
    assert sensor.poke({}) is False  # accepted, not delivered yet
    sandbox_clock.now += 1.2
    outcome = sensor.poke({})
    assert isinstance(outcome, PokeReturnValue) and outcome.is_done
    assert outcome.xcom_value["counts"] == {"delivered": 2}
    assert all(r.method in ("POST", "GET") for r in stepped_sandbox.requests)
    assert sum(r.method == "POST" for r in stepped_sandbox.requests) == 2  # reads only since


def test_the_trigger_reports_a_failed_delivery_without_blocking_the_loop(checked_sandbox):
    sent = SendSmsOperator(
        task_id="send", recipients=[NUMBERS[0], DELIVERY_FAILS_NL], text="x"
    ).execute({})
    # Each read takes 0.2 s: done on the event loop, it would stall the heartbeat that long.
    checked_sandbox.latency = 0.2
    trigger = MessageStatusTrigger(
        channel_id=checked_sandbox.mms_channel_id,
        message_ids=[entry["message_id"] for entry in sent],
        poll_interval=0.2,
        end_time=time.time() + 30,
    )

    async def first_event_and_loop_delays():
        async with event_loop_delays() as delays:
            event = await anext(trigger.run())
        return event, delays

    event, delays = asyncio.run(first_event_and_loop_delays())
    assert event.payload["status"] == "failure"
    assert event.payload["counts"] == {"delivered": 1, "delivery_failed": 1}
    [failure] = event.payload["failures"]
    assert failure["code"] == 15006 and "absent subscriber" in failure["reason"]
    assert max(delays) < 0.1, "the event loop was blocked"
