"""Reading a question's answer from the replies on its channel (SmsApprovalOperator): the first
reply from an approver that names an option wins; what is not an answer is logged, the
number masked, and changes nothing.

Whether a reply without the code may answer is read from the channel itself (the questions
texted to that number, each carrying its code, and the replies that answered them), so every
question's trigger, in any triggerer and under any connection id, reads it alike."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection

from airflow_provider_sms.bird.errors import BirdListingUnclearError
from airflow_provider_sms.bird.incoming import Cursor
from airflow_provider_sms.bird.listing import timestamp
from airflow_provider_sms.bird.objects import inbound_message, message_text, recipient_of
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.inbound.question import Question, open_questions
from airflow_provider_sms.inbound.replies import incoming_replies
from airflow_provider_sms.redaction import mask_phone

# How far back from a reply without a code the channel is read for the other questions open
# to its sender; a question asked longer ago than this takes only replies with its code.
CODELESS_WINDOW = 24 * 3600.0
# Pages of 100 messages read at most for that: on a busier channel a reply needs the code.
CODELESS_PAGES = 20


def look_for_answer(
    hook: BirdHook,
    channel_id: str,
    cursor: Cursor,
    question: Question,
    approvers: Collection[str],
    *,
    asked: float,
    log: logging.Logger,
    cancel: threading.Event | None = None,
) -> tuple[dict | None, Cursor]:
    """The first (oldest) reply not behind `cursor` that answers `question` (asked at
    `asked`, UNIX time), as the inbound message plus ``option`` and ``comment``; or None.
    Returns the cursor moved past the replies that did not answer: never past the answer,
    which the caller reads again until it is recorded."""
    replies, positions = incoming_replies(hook, channel_id, cursor, cancel=cancel)
    for index, reply in enumerate(replies):
        number = reply["from"] or ""
        if number not in approvers:
            log.info(
                "Ignored a reply from %s: not an approver of this question", mask_phone(number)
            )
            continue
        answer = question.read(reply["text"], code_required=False)
        why_not = None
        if answer is not None and not answer.with_code:
            why_not = codeless_refused(hook, channel_id, reply, question, asked, cancel=cancel)
        if answer is None or why_not:
            log.info(
                "Ignored a reply from %s (%d characters): it does not answer this question%s",
                mask_phone(number),
                len(reply["text"]),
                f" ({why_not}; a reply starting with {question.code} does)" if why_not else "",
            )
            continue
        log.info(
            "%s answered %r by SMS (message %s)",
            mask_phone(number),
            answer.option,
            reply["message_id"],
        )
        answered = {**reply, "option": answer.option, "comment": answer.comment}
        return answered, cursor.passed(positions[:index])
    return None, cursor.passed(positions)


def codeless_refused(
    hook: BirdHook,
    channel_id: str,
    reply: dict,
    question: Question,
    asked: float,
    *,
    cancel: threading.Event | None = None,
) -> str | None:
    """Why `reply`, which names an option of `question` without its code, does not answer it
    (None: it does). It answers only when `question` is the one question open to that number
    when the reply came, as the channel's messages of the CODELESS_WINDOW before the reply
    show (see `open_questions`); whatever cannot be told means the code is needed."""
    at = timestamp(reply.get("received_at"))
    if at is None:
        return "the reply's time cannot be read"
    if asked < at - CODELESS_WINDOW:
        return f"the question was asked more than {CODELESS_WINDOW / 3600:g} hours before it"
    floor = at - CODELESS_WINDOW
    number = reply["from"]
    asked_them: list[tuple[float, Question]] = []
    replies: list[tuple[float, str]] = []
    walk = hook.recent_messages(channel_id, max_pages=CODELESS_PAGES, cancel=cancel)
    try:
        for page, stamps in walk:
            for message, created in zip(page, stamps, strict=True):
                incoming = inbound_message(message)
                if incoming is not None:
                    if incoming["from"] != number:
                        continue
                    found = incoming["text"]
                else:
                    if recipient_of(message) != number:
                        continue
                    found = Question.asked_in(message_text(message))
                    if found is None:
                        continue
                if created is None:
                    return "a message to or from that number has no readable time"
                if floor <= created <= at:
                    (replies if incoming else asked_them).append((created, found))
            if walk.past(floor):
                break
    except BirdListingUnclearError as exc:
        return f"what else was asked of that number could not be read: {exc}"
    others = open_questions(asked_them, replies, at=at) - {question.code}
    if others:
        return f"{len(others)} other question(s) were open to that number"
    return None
