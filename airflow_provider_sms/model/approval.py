"""A question answered by SMS (SmsApprovalOperator): its short code, the text that asks it, and
how a reply reads as an answer. Pure: no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from airflow_provider_sms.bird.errors import InvalidMessageError

# Codes avoid letters and digits that read alike (0/O, 1/I/L), so an approver types them right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 4
# An approval's two options, as ApprovalOperator names them, and the words that choose them.
APPROVE, REJECT = "Approve", "Reject"
APPROVAL_WORDS = {"approve": APPROVE, "yes": APPROVE, "reject": REJECT, "no": REJECT}
# What may separate the code, the option and the comment in a reply.
_SEPARATORS = " \t\r\n:;,.-!"


def question_code(*identity: Any) -> str:
    """A short code from what identifies the question (the task instance): the same on every
    try, so a retry's text is the text an earlier try sent."""
    digest = int.from_bytes(hashlib.sha256(repr(identity).encode()).digest()[:8], "big")
    code = ""
    for _ in range(CODE_LENGTH):
        digest, index = divmod(digest, len(CODE_ALPHABET))
        code += CODE_ALPHABET[index]
    return code


@dataclass(frozen=True)
class Answer:
    """A reply read as an answer: the option it chooses and the text after it."""

    option: str
    comment: str
    with_code: bool


@dataclass(frozen=True)
class Question:
    """Its options (as the HITL detail holds them), its code, and whether it is an approval
    (which also takes "yes" and "no")."""

    options: tuple[str, ...]
    code: str
    approval: bool = False

    @classmethod
    def build(cls, options: Any, code: str, *, approval: bool) -> Question:
        if approval:
            return cls((APPROVE, REJECT), code, True)
        if isinstance(options, str) or not isinstance(options, list | tuple) or not options:
            raise InvalidMessageError("options", f"expected a non-empty list, got {options!r:.60}")
        names = [o.strip() if isinstance(o, str) else o for o in options]
        bad = [o for o in names if not isinstance(o, str) or not o]
        if bad:
            raise InvalidMessageError(
                "options", f"each option must be a non-empty text: {bad[0]!r}"
            )
        folded = [o.casefold() for o in names]
        twice = sorted({o for o in names if folded.count(o.casefold()) > 1})
        if twice:
            raise InvalidMessageError(
                "options",
                f"options differ only in case, so a reply cannot tell them apart: {twice}",
            )
        if any(o.casefold() == code.casefold() for o in names):
            raise InvalidMessageError("options", f"an option is the question's code {code!r}")
        return cls(tuple(options), code, False)

    def words(self) -> dict[str, str]:
        """Each word (folded) a reply may start with -> the option it chooses."""
        words = {o.strip().casefold(): o for o in self.options}
        if self.approval:
            words.update(APPROVAL_WORDS)
        return words

    def read(self, text: str, *, code_required: bool) -> Answer | None:
        """The answer `text` gives to this question, or None: an option (case-insensitive),
        optionally after the code, optionally followed by a comment. Without the code, only
        when `code_required` is false."""
        rest = text.strip()
        with_code = _starts_with(rest, self.code)
        if with_code:
            rest = rest[len(self.code) :].lstrip(_SEPARATORS)
        elif code_required:
            return None
        # The longest option first: "deploy now" before "deploy".
        for word, option in sorted(self.words().items(), key=lambda item: -len(item[0])):
            if _starts_with(rest, word):
                return Answer(option, rest[len(word) :].strip(_SEPARATORS), with_code)
        return None

    def text(self, subject: str, body: str | None, link: str | None) -> str:
        """The question as texted: subject, body, how to answer, the code, the link."""
        if self.approval:
            how = "Reply APPROVE or REJECT (or YES / NO)"
        else:
            how = "Reply with one of: " + ", ".join(self.options)
        lines = [subject.strip()]
        if body and body.strip():
            lines.append(body.strip())
        lines.append(f"{how}, then any comment.")
        lines.append(f"Code {self.code}: start your reply with it if other questions are open.")
        if link:
            lines.append(link)
        return "\n".join(lines)


def _starts_with(text: str, word: str) -> bool:
    """Whether `text` starts with `word` (case-insensitive) as a whole word."""
    if text[: len(word)].casefold() != word.casefold():
        return False
    rest = text[len(word) :]
    return not rest or not (rest[0].isalnum() or rest[0] == "_")
