"""MessageInteractionsOperator: clicks, opt-outs and opt-ins of what a send sent.

Kept cheap to import (DAG files import it at parse time): the client loads when it runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_CONN_NAME
from airflow_provider_sms.compat import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class MessageInteractionsOperator(BaseOperator):
    """Read Bird's interactions of the messages a send returned and return (XCom) a compact
    summary: counts by type, the numbers that opted out (``opted_out``, for a suppression
    list: pass the result to a send's ``exclude_recipients``), those that opted in again,
    and the clicks.

    ``report = MessageInteractionsOperator(task_id="report", messages=send.output)``

    Returns ``{"messages", "not_found", "counts": {"clicked": n, "unsubscribe-request": n,
    "subscribe-consent": n}, "opted_out": [...], "opted_in": [...], "clicked",
    "clicks": [{"recipient", "message_id", "url", "clicked_at"}], "clicks_omitted"}``. Logs
    show counts only. Reads only: nothing is ever sent.

    An opt-out never seen is never taken for none: the task fails, without retrying and
    naming the reason, when a message cannot be read on ``channel_id`` (Bird does not find
    it there, or shows it as another channel's) or an opt-out on it names no number; an
    undated opt-out, or one at the same instant as an opt-in, counts as the latest.

    :param messages: what a send operator returned (its per-recipient entries), or message
        ids (templated). A send summary (more recipients than its ``xcom_entries_limit``)
        names no message: raise that limit on the send.
    :param channel_id: the channel the messages were sent on (a send's own ``channel_id``);
        default the connection's.
    :param bird_conn_id: the Bird connection id.
    """

    template_fields: Sequence[str] = ("messages", "channel_id", "bird_conn_id")
    ui_color = "#e2f1fd"

    def __init__(
        self,
        *,
        messages: Any,
        channel_id: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.messages = messages
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id

    def execute(self, context: Context) -> dict:
        from airflow_provider_sms.bird.errors import (
            BirdConfigurationError,
            BirdMessagesUnseenError,
            InvalidMessageError,
        )
        from airflow_provider_sms.compat import AirflowFailException
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.inbound.interactions import summarize
        from airflow_provider_sms.outbound.result import SendResult

        with BirdHook(self.bird_conn_id, pool_size=8) as hook:
            try:
                messages = SendResult.read(self.messages, "messages").messages()
                channel = hook.channel_id(self.channel_id)
            except (InvalidMessageError, BirdConfigurationError) as exc:
                raise AirflowFailException(f"MessageInteractionsOperator: {exc}") from None
            try:
                return summarize(hook, channel, messages, log=self.log)
            except BirdMessagesUnseenError as exc:
                # The same messages on the same channel answer the same: no retry helps.
                raise AirflowFailException(f"MessageInteractionsOperator: {exc}") from None
