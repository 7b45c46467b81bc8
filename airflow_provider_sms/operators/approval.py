"""SmsApprovalOperator: a human-in-the-loop step answered by a text message.

Kept cheap to import (DAG files import it at parse time): the client loads when it runs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_CONN_NAME, compat

# Human in the loop arrived in Airflow 3.1: older ones fail here, when the DAG is parsed.
compat.require("SmsApprovalOperator")

from airflow_provider_sms.compat import BranchMixIn, HITLOperator  # noqa: E402

if TYPE_CHECKING:
    from airflow.sdk import Context

# A handful of approvers at most; a question is short.
_MAX_CONCURRENCY = 4


class SmsApprovalOperator(HITLOperator, BranchMixIn):
    """Ask `approvers` by SMS, and complete on the first answer: an SMS reply from one of
    them, an answer in the Airflow UI or the REST API (as for any HITL task), or, at
    `response_timeout`, the `defaults`.

    Without `options` it is an approval, as :class:`ApprovalOperator`: "Approve" (a reply
    ``approve`` or ``yes``) lets the downstream tasks run, "Reject" (``reject`` or ``no``)
    skips them (or fails the task with ``fail_on_reject``). With `options` it is a choice, as
    :class:`HITLBranchOperator`: the downstream task named by the chosen option (or by
    ``options_mapping[option]``) runs, the others are skipped. A reply is an option's name,
    case-insensitive, optionally followed by a comment. Each text carries a short code; when
    several questions are open to the same number, a reply must start with it.

    The question is sent once across the task's tries (the exactly-once ledger of the send
    operators), and the wait runs in the triggerer. Replies from other numbers, and replies
    that answer nothing, are logged (numbers masked) and change nothing; so does any answer
    after the first.

    Returns (XCom) what HITL operators return (``chosen_options``, ``params_input``,
    ``responded_at``, ``responded_by_user``; for an SMS answer the user is the number), plus
    ``answered_by`` (``"sms"``, ``"airflow"`` or ``"timeout"``), ``sms_reply`` (the reply:
    ``message_id``, ``from``, ``text``, ``comment``, ``received_at``; None otherwise) and
    ``code``.

    :param subject: the question's headline (templated).
    :param approvers: who may answer by SMS: a number, a list or a comma-separated string
        (templated).
    :param body: more about the question (templated); texted after the subject.
    :param options: the choices (templated); default an approval (Approve / Reject).
    :param defaults: the option(s) taken at `response_timeout`; without them the task fails
        then.
    :param options_mapping: option -> downstream task id, for options not named after one.
    :param response_timeout: how long to wait for an answer.
    :param channel_id: the channel the question goes out on and the replies come in on;
        default the connection's.
    :param bird_conn_id: the Bird connection id.
    :param default_region: region for numbers written without a country code.
    :param poll_interval: seconds between two looks for an answer.
    :param max_segments: the most SMS segments the question may take (default 10).
    :param ignore_quiet_hours: send at once despite the channel's quiet hours (default True).
    :param ignore_global_holdout: skip Bird's global holdout (default True).
    :param fail_on_reject: an approval rejected fails the task (as ApprovalOperator).
    :param ignore_downstream_trigger_rules: on Reject skip every downstream task, not only
        the direct ones (as ApprovalOperator).
    Other arguments (``params``, ``notifiers``, ``assigned_users``) are HITLOperator's.
    """

    template_fields: Collection[str] = (
        "subject",
        "body",
        "approvers",
        "options",
        "channel_id",
        "bird_conn_id",
    )
    inherits_from_skipmixin = True
    ui_color = "#e2f1fd"

    def __init__(
        self,
        *,
        subject: str,
        approvers: Any,
        options: Any = None,
        defaults: str | list[str] | None = None,
        options_mapping: dict[str, str] | None = None,
        channel_id: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        default_region: str | None = None,
        poll_interval: float | timedelta = 5.0,
        max_segments: int = 10,
        ignore_quiet_hours: bool = True,
        ignore_global_holdout: bool = True,
        fail_on_reject: bool = False,
        ignore_downstream_trigger_rules: bool = False,
        **kwargs: Any,
    ):
        from airflow_provider_sms.inbound.question import APPROVE, REJECT

        if kwargs.pop("multiple", False):
            raise ValueError("multiple: an SMS reply chooses one option")
        self.approval = options is None
        self.approvers = approvers
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.default_region = default_region
        interval = poll_interval
        self.poll_interval = (
            interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
        )
        if not self.poll_interval > 0:
            raise ValueError(f"poll_interval: must be more than 0 seconds, got {poll_interval!r}")
        self.max_segments = max_segments
        self.ignore_quiet_hours = ignore_quiet_hours
        self.ignore_global_holdout = ignore_global_holdout
        self.fail_on_reject = fail_on_reject
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
        self.options_mapping = dict(options_mapping or {})
        super().__init__(
            subject=subject,
            options=[APPROVE, REJECT] if self.approval else options,
            defaults=defaults,
            multiple=False,
            **kwargs,
        )

    def validate_defaults(self) -> None:
        # Templated options are checked once rendered (execute).
        if not isinstance(self.options, str):
            super().validate_defaults()

    # -- asking ----------------------------------------------------------------------

    def execute(self, context: Context) -> None:
        from airflow_provider_sms.compat import (
            AirflowFailException,
            serves_hitl,
            upsert_hitl_detail,
        )
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.inbound.question import Question
        from airflow_provider_sms.message.bodies import sms_body
        from airflow_provider_sms.message.outgoing import Outgoing
        from airflow_provider_sms.message.recipients import normalize_recipients
        from airflow_provider_sms.outbound.engine import deliver
        from airflow_provider_sms.outbound.prepare import SendPolicy, invalid_input, reference_seed
        from airflow_provider_sms.outbound.result import SendResult
        from airflow_provider_sms.triggers.approval import SmsApprovalTrigger

        if not serves_hitl():
            raise AirflowFailException(
                "SmsApprovalOperator: nothing was sent. `airflow dags test` runs the task's "
                "wait where Airflow serves no human-in-the-loop detail, so no answer could "
                "be recorded. Run the DAG in a running Airflow (a scheduler, an API server "
                "and a triggerer: `airflow standalone` on one machine) and answer by SMS or "
                'in the UI; docs/approvals.md, "Trying it locally", shows how against the '
                "sandbox."
            )
        ti = context["ti"]
        code = self._code(context)
        with BirdHook(self.bird_conn_id, pool_size=_MAX_CONCURRENCY) as hook:
            with invalid_input("SMS approval"):
                question = Question.build(self._rendered_options(), code, approval=self.approval)
                self.options = list(question.options)
                super().validate_defaults()
                text = question.text(self.subject, self.body, self._link(context))
                body, _ = sms_body(text, max_segments=self.max_segments, field="subject")
                approvers = normalize_recipients(
                    self.approvers, default_region=self.default_region, field="approvers"
                )
                outgoing = Outgoing.build(
                    kind="SMS",
                    recipients=approvers,
                    channel_id=hook.channel_id(self.channel_id),
                    content={"body": body},
                    reference_seed=reference_seed(context),
                    delivery={
                        "ignore_quiet_hours": self.ignore_quiet_hours,
                        "ignore_global_holdout": self.ignore_global_holdout,
                    },
                )
            upsert_hitl_detail(
                ti_id=ti.id,
                options=self.options,
                subject=self.subject,
                body=self.body,
                defaults=self.defaults,
                multiple=False,
                params=self.serialized_params,
                assigned_users=self.assigned_users,
            )
            asked = self._asked_at(context)
            policy = SendPolicy(
                max_concurrency=_MAX_CONCURRENCY,
                fail_on_partial_failure=False,
                xcom_entries_limit=max(1000, len(outgoing.recipients)),  # an entry for each
            )
            entries = deliver(hook, outgoing, policy, context=context, log=self.log)
        if SendResult.was_dry_run(entries):
            # A staging connection: nobody was texted; the question waits in Airflow's UI.
            approvers = list(outgoing.recipients)
            self.log.warning("The question was not texted (a dry run): answer it in the UI")
        else:
            approvers = self._reached(entries)
        deadline = None
        if self.response_timeout:
            from datetime import UTC, datetime

            # From when the question first went out: a retry does not extend the wait.
            deadline = datetime.fromtimestamp(asked, UTC) + self.response_timeout
        self.hitl_summary_extra["timeout_datetime"] = deadline.isoformat() if deadline else None
        for notifier in self.notifiers:
            notifier(context)
        self.log.info(
            "Asked %d approver(s) by SMS (code %s); waiting in the triggerer for an answer",
            len(approvers),
            code,
        )
        self.defer(
            trigger=SmsApprovalTrigger(
                ti_id=ti.id,
                options=self.options,
                defaults=self.defaults,
                params=self.serialized_params,
                multiple=False,
                timeout_datetime=deadline,
                poke_interval=self.poll_interval,
                approvers=approvers,
                code=code,
                channel_id=outgoing.channel_id,
                after=asked,
                approval=self.approval,
                bird_conn_id=self.bird_conn_id,
            ),
            method_name="execute_complete",
        )

    def _rendered_options(self) -> Any:
        options = self.options
        if isinstance(options, str):  # rendered from a template: a comma list
            options = [o.strip() for o in options.split(",") if o.strip()]
        return options

    def _link(self, context: Context) -> str | None:
        """The task's page in the UI, when the deployment says where it is."""
        from airflow_provider_sms.compat import conf

        base_url = conf.get("api", "base_url", fallback=None)
        if not base_url:
            return None
        return self.generate_link_to_ui(task_instance=context["ti"], base_url=base_url)

    def _asked_at(self, context: Context) -> float:
        """When the question first went out (recorded before it is sent, read back by every
        later try of this run of the task, not after a clear): replies are read from then on."""
        import time

        from airflow_provider_sms.outbound.ledger import approval_asked_key

        store = compat.task_state_store(context)
        key = approval_asked_key(context["ti"])
        asked = store.get(key) if store is not None else None
        if isinstance(asked, int | float) and not isinstance(asked, bool):
            return float(asked)
        asked = time.time()
        if store is not None:
            store.set(key, asked)
        return asked

    def _reached(self, entries: Any) -> list[str]:
        """The approvers Bird took the question for; a task none of them can answer fails."""
        from airflow_provider_sms.compat import AirflowFailException
        from airflow_provider_sms.outbound.result import SendResult

        result = SendResult.read(entries, "recipients")
        for failure in result.unsent()[1]:
            self.log.warning(
                "The question did not reach %s: %s", failure["recipient"], failure["reason"]
            )
        reached = result.recipients()
        if not reached:
            raise AirflowFailException("SmsApprovalOperator: the question reached no approver")
        return reached

    # -- the answer ------------------------------------------------------------------

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        from airflow_provider_sms.compat import HITLRejectException
        from airflow_provider_sms.inbound.question import APPROVE
        from airflow_provider_sms.redaction import mask_phone

        result = dict(super().execute_complete(context=context, event=event))
        reply = event.get("sms_reply")
        if reply:
            answered_by = "sms"
            self.log.info(
                "Answered by SMS from %s: %s", mask_phone(reply["from"]), result["chosen_options"]
            )
        elif event.get("timedout"):
            answered_by = "timeout"
            self.log.info("No answer in time: the defaults %s apply", result["chosen_options"])
        else:
            answered_by = "airflow"
            self.log.info("Answered in Airflow: %s", result["chosen_options"])
        result.update(answered_by=answered_by, sms_reply=reply, code=self._code(context))
        chosen = result["chosen_options"]
        if self.approval and chosen[0] == APPROVE:
            return result
        # Skipping tasks ends the try before Airflow stores a return value: store it first,
        # so the answer is in the XCom whichever way it went.
        context["ti"].xcom_push(key="return_value", value=result)
        if not self.approval:
            self.do_branch(context, [self.options_mapping.get(o, o) for o in chosen])
            return result
        if self.fail_on_reject:
            raise HITLRejectException('Received "Reject"')
        relatives = (
            self.get_flat_relatives(upstream=False)
            if self.ignore_downstream_trigger_rules
            else self.get_direct_relatives(upstream=False)
        )
        skipped = [t for t in relatives if not t.is_teardown]
        if skipped:
            self.log.info("Rejected: skipping the downstream tasks")
            self.skip(ti=context["ti"], tasks=skipped)
        return result

    @staticmethod
    def _code(context: Context) -> str:
        """The question's code: from the task instance, the same on every try."""
        from airflow_provider_sms.inbound.question import question_code

        ti = context["ti"]
        return question_code(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1))
