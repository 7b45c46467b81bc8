"""Send, then wait in the triggerer until Bird reports delivery (MessageStatusSensor)."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.message_status import MessageStatusSensor
from bird_sandbox.catalogue import DELIVERY_FAILS_NL, STAYS_SENT_NL

CASES = {
    # dag_id: (recipients, batch API, sensor timeout in seconds)
    "delivery_wait": (["+31620000001", "+31620000002", "+31620000003"], False, 300),
    "delivery_fails": (["+31620000004", DELIVERY_FAILS_NL], False, 300),
    "delivery_stuck": ([STAYS_SENT_NL], False, 15),
    "delivery_large": ([f"+316{26000000 + i}" for i in range(100_000)], True, 900),
}

for dag_id, (recipients, batch, timeout) in CASES.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1)):
        send = SendSmsOperator(
            task_id="send",
            recipients=recipients,
            text="Your parcel arrives today.",
            use_batch_api=batch,
        )
        send >> MessageStatusSensor(
            task_id="wait",
            deferrable=True,
            message_ids=send.output,
            poll_interval=1,
            timeout=timeout,
        )
