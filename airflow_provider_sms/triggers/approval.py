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
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_CONN_NAME, compat

compat.require("SmsApprovalTrigger")

from airflow_provider_sms.compat import (  # noqa: E402
    HITLTrigger,
    TriggerEvent,
    hitl_detail,
    hitl_response,
    hitl_timeout,
    write_hitl_response,
)
from airflow_provider_sms.redaction import mask_phone  # noqa: E402
from airflow_provider_sms.triggers.polling import MaskedEvent, PollingTrigger  # noqa: E402

if TYPE_CHECKING:
    import threading

    from airflow_provider_sms.hooks.bird import BirdHook

NO_DETAIL = (
    "Airflow served this trigger no HITL detail: `airflow dags test` runs triggers where "
    "HITL details are not available. Run the DAG in Airflow (a scheduler, an API server and "
    "a triggerer) to answer it."
)


def _approver(number: str) -> dict[str, str]:
    """Who answered, shaped as Airflow's HITLUser; the name is masked (it shows in logs)."""
    return {"id": number, "name": f"SMS {mask_phone(number)}"}


class SmsApprovalTrigger(PollingTrigger, HITLTrigger):
    """HITLTrigger plus the approvers' replies on `channel_id` received at or after `after`
    (UNIX time) to the question `code`; `approval` for Approve/Reject (which also take
    yes/no). Other arguments are HITLTrigger's.

    :param approvers: who may answer by SMS (E.164 numbers).
    :param code: the question's code, which a reply starts with when other questions are open.
    :param channel_id: the Bird channel replies come in on.
    :param after: the earliest reply that counts, a UNIX time (when the question went out).
    :param approval: an Approve/Reject question, whose answers also take yes and no.
    :param bird_conn_id: the Bird connection id.
    """

    fields = ("approvers", "code", "channel_id", "after", "approval", "bird_conn_id")
    polling = "read the replies"

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

    @property
    def poll_interval(self) -> float:
        return self.poke_interval

    @property
    def end_time(self) -> float | None:
        return self.timeout_datetime.timestamp() if self.timeout_datetime else None

    async def start(self) -> TriggerEvent | None:
        from airflow_provider_sms.bird.incoming import Cursor
        from airflow_provider_sms.inbound.question import Question

        if await hitl_detail(self.ti_id) is None:
            return TriggerEvent({"error": NO_DETAIL, "error_type": "unknown"})
        self._question = Question.build(self.options, self.code, approval=self.approval)
        self._cursor = Cursor.since(self.after)
        return None

    async def before_poll(self, hook: BirdHook) -> TriggerEvent | None:
        from airflow_provider_sms.compat import timezone

        # Answered in the UI or the API, or by an earlier run of this trigger.
        event = await hitl_response(self)
        if event is not None:
            return await self._with_reply(event, hook, self._question)
        if self.timeout_datetime and self.timeout_datetime < timezone.utcnow():
            return await hitl_timeout(self)  # no answer: the defaults apply
        return None

    def poll(self, hook: BirdHook, cancel: threading.Event) -> dict | None:
        # The cursor stays before a reply found until its answer is recorded.
        found, self._cursor = self._look(hook, self._cursor, self._question, cancel)
        return found

    async def conclude(self, found: dict | None, error: Any, ended: bool) -> TriggerEvent | None:
        return None if found is None else await self._answer(found)

    def lasting_error(self, error: Exception) -> None:
        # The UI and the API still answer; the defaults still apply at the timeout.
        return None

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
