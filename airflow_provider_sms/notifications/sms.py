"""SmsNotifier: text someone when a task or DAG run fails, succeeds or misses a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_CONN_NAME
from airflow_provider_sms.compat import BaseNotifier, notifier_arguments

if TYPE_CHECKING:
    from datetime import timedelta

    from airflow.sdk import Context


# Alerts go to a handful of people.
_MAX_CONCURRENCY = 4
_MAX_COOLDOWN = 24 * 3600


class SmsNotifier(BaseNotifier):
    """Send an SMS through Bird from a callback.

    ``on_failure_callback=SmsNotifier(recipients="+31612345678",
    text="{{ ti.dag_id }}.{{ ti.task_id }} failed on {{ ds }}")``

    Recipients, validation and masking are those of
    :class:`~airflow_provider_sms.operators.sms.SendSmsOperator`. Each message carries a
    reference derived from the task instance (or DAG run) and try the callback is about, so
    it can be found in Bird, and so that an alert Airflow asks for twice (a callback run twice
    for one failure) goes out once: the notifier first looks for it in the channel's recent
    messages and skips the recipients it finds. When Bird refuses any recipient, the notifier
    raises with a summary, so the callback's failure shows in the logs.

    :param recipients: a phone number, a list of them, or a comma-separated string (templated).
    :param text: the message text (templated).
    :param channel_id: the Bird SMS channel; defaults to the connection's ``channel_id``.
    :param bird_conn_id: the Bird connection id.
    :param default_region: region (e.g. ``"NL"``) for numbers written without a country code.
    :param allow_premium_numbers: send to premium-rate and shared-cost numbers too.
    :param allowed_regions: ISO 3166 region codes; recipients elsewhere are refused.
    :param max_segments: the most SMS segments the alert may take (default 10).
    :param max_messages: the most recipients one alert may text; more fails the callback
        before any request, naming both numbers. Default: the connection's ``max_messages``
        extra.
    :param dry_run: render and check, log what would be sent (numbers masked), send nothing.
    :param ignore_quiet_hours: send at once despite the channel's quiet hours (default True:
        an alert is urgent); False lets Bird hold it until they end.
    :param ignore_global_holdout: skip Bird's global holdout check (default True: an alert is
        transactional).
    :param validity: whole seconds (or a ``timedelta``) after which Bird stops trying to
        deliver the alert (default: the channel's, 36 hours on most channels); templated.
    :param cooldown: a ``timedelta`` (or whole seconds, at most a day): an alert is not sent
        to a recipient Bird lists another alert of this notifier to within it, across DAG
        runs, workers and executors; the skipped alert is logged with when the last went out.
        Default: every alert goes out.
    :param cooldown_key: what alerts share one cooldown (templated); default the DAG id, so
        that a DAG failing run after run texts each recipient once per cooldown. Give the
        notifiers of one DAG different keys (``"{{ dag.dag_id }}-late"``) to keep their
        cooldowns apart, or several DAGs the same one to share it.
    """

    template_fields: Sequence[str] = (
        "recipients",
        "text",
        "channel_id",
        "bird_conn_id",
        "validity",
        "cooldown_key",
    )

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        text: str,
        channel_id: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        default_region: str | None = None,
        allow_premium_numbers: bool = False,
        allowed_regions: Sequence[str] | None = None,
        max_segments: int = 10,
        dry_run: bool = False,
        ignore_quiet_hours: bool = True,
        ignore_global_holdout: bool = True,
        validity: int | timedelta | None = None,
        max_messages: int | None = None,
        cooldown: timedelta | int | None = None,
        cooldown_key: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**notifier_arguments(kwargs))
        self.cooldown = _cooldown_seconds(cooldown)
        self.cooldown_key = cooldown_key
        self.max_messages = max_messages
        self.ignore_quiet_hours = ignore_quiet_hours
        self.ignore_global_holdout = ignore_global_holdout
        self.validity = validity
        self.allow_premium_numbers = allow_premium_numbers
        self.allowed_regions = allowed_regions
        self.max_segments = max_segments
        self.dry_run = dry_run
        self.recipients = recipients
        self.text = text
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.default_region = default_region

    def notify(self, context: Context) -> None:
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.message.bodies import sms_body
        from airflow_provider_sms.message.outgoing import Outgoing
        from airflow_provider_sms.outbound.engine import deliver
        from airflow_provider_sms.outbound.prepare import (
            SendPolicy,
            alert_seed,
            check_caps,
            invalid_input,
        )

        with BirdHook(self.bird_conn_id, pool_size=_MAX_CONCURRENCY) as hook:
            with invalid_input("SMS"):
                body, _ = sms_body(self.text, max_segments=self.max_segments)
                outgoing = Outgoing.build(
                    kind="SMS",
                    recipients=self.recipients,
                    default_region=self.default_region,
                    channel_id=hook.channel_id(self.channel_id),
                    content={"body": body},
                    reference_seed=alert_seed(context),
                    reference_group=self._cooldown_group(context),
                    allow_premium_numbers=self.allow_premium_numbers,
                    allowed_regions=self.allowed_regions,
                    delivery={
                        "ignore_quiet_hours": self.ignore_quiet_hours,
                        "ignore_global_holdout": self.ignore_global_holdout,
                        "validity": self.validity,
                    },
                )
                check_caps(outgoing, hook.settings, max_messages=self.max_messages)
            policy = SendPolicy(
                max_concurrency=_MAX_CONCURRENCY,
                dry_run=self.dry_run,
                alert=True,
                cooldown=self.cooldown,
            )
            deliver(hook, outgoing, policy, context=context, log=self.log)

    def _cooldown_group(self, context: Context) -> tuple[str, ...] | None:
        """The group of alerts sharing this notifier's cooldown (see ``Outgoing``)."""
        if self.cooldown is None:
            return None
        if self.cooldown_key:
            return ("cooldown", str(self.cooldown_key))
        owner = context.get("ti") or context.get("dag_run") or context.get("dag")
        return ("cooldown", "dag", str(getattr(owner, "dag_id", "")))

    async def async_notify(self, context: Context) -> None:
        # The client is synchronous; a worker thread keeps the triggerer's loop free.
        await asyncio.to_thread(self.notify, context)


def _cooldown_seconds(cooldown: timedelta | int | None) -> float | None:
    from datetime import timedelta

    if cooldown is None:
        return None
    seconds = cooldown.total_seconds() if isinstance(cooldown, timedelta) else cooldown
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"cooldown: expected a timedelta or whole seconds, got {cooldown!r}")
    if not 1 <= seconds <= _MAX_COOLDOWN:
        raise ValueError(
            f"cooldown: {cooldown!r} is not between 1 second and a day (an alert's lookup "
            "reads Bird's listing back over the whole cooldown)"
        )
    return float(seconds)


send_sms_notification = SmsNotifier
