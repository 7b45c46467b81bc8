"""Reading a question's answer from the replies on its channel (SmsApprovalOperator): the first
reply from an approver that names an option wins; what is not an answer is logged, the
number masked, and changes nothing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from airflow_provider_sms.bird.inbound import Cursor
from airflow_provider_sms.delivery.replies import incoming_replies
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.model.approval import Question
from airflow_provider_sms.redaction import mask_phone


def look_for_answer(
    hook: BirdHook,
    channel_id: str,
    cursor: Cursor,
    question: Question,
    approvers: Collection[str],
    *,
    code_required: Callable[[str], bool],
    log: logging.Logger,
    cancel: threading.Event | None = None,
) -> tuple[dict | None, Cursor]:
    """The first (oldest) reply not behind `cursor` that answers `question`, as the inbound
    message plus ``option`` and ``comment``; or None. `code_required(number)` tells whether
    that approver has other questions open, so that a reply must start with this one's code.
    Returns the cursor moved past what it looked at."""
    replies, positions = incoming_replies(hook, channel_id, cursor, cancel=cancel)
    for index, reply in enumerate(replies):
        number = reply["from"] or ""
        if number not in approvers:
            log.info(
                "Ignored a reply from %s: not an approver of this question", mask_phone(number)
            )
            continue
        needs_code = code_required(number)
        answer = question.read(reply["text"], code_required=needs_code)
        if answer is None:
            log.info(
                "Ignored a reply from %s (%d characters): it does not answer this question%s",
                mask_phone(number),
                len(reply["text"]),
                f" (with other questions open to them, a reply starts with {question.code})"
                if needs_code
                else "",
            )
            continue
        log.info(
            "%s answered %r by SMS (message %s)",
            mask_phone(number),
            answer.option,
            reply["message_id"],
        )
        answered = {**reply, "option": answer.option, "comment": answer.comment}
        return answered, cursor.passed(positions[: index + 1])
    return None, cursor.passed(positions)
