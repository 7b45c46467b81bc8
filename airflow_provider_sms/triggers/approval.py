"""SmsApprovalTrigger: Airflow's HITLTrigger that also reads the approvers' SMS replies.

It waits as HITLTrigger does (an answer in the UI or the REST API, or the defaults at the
timeout) and, between two looks at the HITL detail, reads the question's channel: the first
reply from an approver naming an option is written as the answer
(``update_hitl_detail_response``, the call HITLTrigger makes at the timeout), unless someone
answered first. A reply is read again until its answer is recorded. Airflow records no user
for an answer written that way, so the event carries the number as ``responded_by_user`` and
the reply as ``sms_reply``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from airflow.providers.standard.triggers.hitl import HITLTrigger
from airflow.triggers.base import TriggerEvent

from airflow_provider_sms import DEFAULT_CONN_NAME
from airflow_provider_sms.compat import (
    hitl_detail,
    hitl_response,
    hitl_timeout,
    write_hitl_response,
)
from airflow_provider_sms.redaction import mask_phone
from airflow_provider_sms.triggers.polling import MaskedEvent, cancelled_at, next_delay

NO_DETAIL = (
    "Airflow served this trigger no HITL detail: `airflow dags test` runs triggers where "
    "HITL details are not available. Run the DAG in Airflow (a scheduler, an API server and "
    "a triggerer) to answer it."
)


def _approver(number: str) -> dict[str, str]:
    """Who answered, shaped as Airflow's HITLUser; the name is masked (it shows in logs)."""
    return {"id": number, "name": f"SMS {mask_phone(number)}"}


class SmsApprovalTrigger(HITLTrigger):
    """HITLTrigger plus the approvers' replies on `channel_id` received at or after `after`
    (UNIX time) to the question `code`; `approval` for Approve/Reject (which also take
    yes/no)."""

    def __init__(
        self,
        *,
        approvers: Sequence[str],
        code: str,
        channel_id: str,
        after: float,
        approval: bool,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.approvers = list(approvers)
        self.code = code
        self.channel_id = channel_id
        self.after = after
        self.approval = approval
        self.bird_conn_id = bird_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        _, kwargs = super().serialize()
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **kwargs,
                "approvers": self.approvers,
                "code": self.code,
                "channel_id": self.channel_id,
                "after": self.after,
                "approval": self.approval,
                "bird_conn_id": self.bird_conn_id,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.sdk.timezone import utcnow

        from airflow_provider_sms.bird.errors import BirdError
        from airflow_provider_sms.bird.incoming import Cursor
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.inbound.question import Question

        if not await self._detail_served():
            yield TriggerEvent({"error": NO_DETAIL, "error_type": "unknown"})
            return
        question = Question.build(self.options, self.code, approval=self.approval)
        end = self.timeout_datetime.timestamp() if self.timeout_datetime else None
        cursor, errors = Cursor.since(self.after), 0
        hook = await BirdHook.aconnect(self.bird_conn_id)
        with cancelled_at(end) as cancel, contextlib.closing(hook):
            while True:
                # Answered in the UI or the API, or by an earlier run of this trigger.
                event = await hitl_response(self)
                if event is not None:
                    yield await self._with_reply(event, hook, question)
                    return
                if self.timeout_datetime and self.timeout_datetime < utcnow():
                    yield await hitl_timeout(self)  # no answer: the defaults apply
                    return
                try:
                    found, cursor = await asyncio.to_thread(
                        self._look, hook, cursor, question, cancel
                    )
                    errors = 0
                except BirdError as exc:
                    # The UI and the API still answer; the defaults still apply at the timeout.
                    errors += 1
                    found = None
                    self.log.warning(
                        "Could not read the replies (poll %d in a row to fail): %s", errors, exc
                    )
                if found is not None:  # the cursor stays before it until it is recorded
                    event = await self._answer(found)
                    if event is not None:
                        yield event
                        return
                now = utcnow().timestamp()
                await asyncio.sleep(next_delay(self.poke_interval, errors, end_time=end, now=now))

    async def _detail_served(self) -> bool:
        return await hitl_detail(self.ti_id) is not None

    def _look(self, hook, cursor, question, cancel):
        from airflow_provider_sms.inbound.answers import look_for_answer

        return look_for_answer(
            hook,
            self.channel_id,
            cursor,
            question,
            self.approvers,
            asked=self.after,
            log=self.log,
            cancel=cancel,
        )

    async def _answer(self, found: dict) -> TriggerEvent | None:
        """Write the SMS answer as the task's response; None when it was not written (someone
        answered first, or the API server failed): the next look reads the recorded answer,
        or else this reply again."""
        try:
            response = await write_hitl_response(
                self.ti_id, chosen_options=[found["option"]], params_input=self.params.dump()
            )
        except Exception as exc:
            # Airflow answers 409 to a second answer (the first stands); any other failure
            # leaves none recorded. Which it was, the HITL detail tells at the next look.
            self.log.warning(
                "The SMS answer was not recorded (%s); the next look reads the recorded "
                "answer, or records this one again",
                exc,
            )
            return None
        return MaskedEvent(self._payload(found, response.responded_at))

    def _payload(self, found: dict, responded_at: datetime) -> dict:
        return {
            "chosen_options": [found["option"]],
            "params_input": self.params.dump(),
            "responded_at": responded_at,
            "responded_by_user": _approver(found["from"]),
            "timedout": False,
            "sms_reply": found,
        }

    async def _with_reply(self, event: TriggerEvent, hook, question) -> TriggerEvent:
        """An answer recorded with no user was written by this trigger before it restarted
        (or is the timeout's default): read the replies again from the start to name the
        number, if an SMS chose it before the answer was recorded."""
        from airflow_provider_sms.bird.errors import BirdError
        from airflow_provider_sms.bird.incoming import Cursor
        from airflow_provider_sms.bird.listing import timestamp

        payload = event.payload
        if "error" in payload or payload.get("responded_by_user") is not None:
            return event
        try:
            found, _ = await asyncio.to_thread(
                self._look, hook, Cursor.since(self.after), question, None
            )
        except BirdError:
            found = None
        if found is None or [found["option"]] != list(payload.get("chosen_options") or []):
            return event
        received = timestamp(found["received_at"])
        if received is None or received > payload["responded_at"].timestamp():
            return event  # the defaults were applied before that reply came
        return MaskedEvent(self._payload(found, payload["responded_at"]))
