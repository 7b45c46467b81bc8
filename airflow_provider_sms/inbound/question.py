"""A question answered by SMS (SmsApprovalOperator): its short code, the text that asks it, and
how a reply reads as an answer. Pure: no I/O."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
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
# How a question's text names its options and its code (see Question.text), read back from
# the channel by every question's trigger.
_APPROVAL_HOW = "Reply APPROVE or REJECT (or YES / NO)"
_CHOICE_HOW = "Reply with one of: "
_THEN = ", then any comment."
_CODE_LINE = re.compile(
    rf"^Code ([{CODE_ALPHABET}]{{{CODE_LENGTH}}}): start your reply with it if other "
    r"questions are open\.$",
    re.MULTILINE,
)
# Letters of other scripts drawn like Latin ones: options that differ only by them look alike.
_LOOK_ALIKE = str.maketrans(
    "АВЕЅІЈКМНОРСТУХҮаеіјорсухѕԁһԛԝӏүΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορτυχ",  # Cyrillic, Greek
    "ABESIJKMHOPCTYXYaeijopcyxsdhqwlyABEZHIKMNOPTYXaikvoptux",
)


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
        drawn = [_skeleton(o) for o in names]
        alike = sorted({o for o, d in zip(names, drawn, strict=True) if drawn.count(d) > 1})
        if alike:
            raise InvalidMessageError(
                "options",
                "options look alike (letters of other scripts or accents aside), so an "
                f"approver cannot tell them apart: {', '.join(ascii(o) for o in alike)}",
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
        when `code_required` is false. An option that itself starts with the code
        ("D67U-now" for the code D67U) is read whole, and carries the code."""
        rest = text.strip()
        code = _prefix(rest, self.code)
        if code is None:
            return None if code_required else self._option(rest, with_code=False)
        # The longer reading first, as for options: the whole option over the code + a shorter.
        return self._option(rest, with_code=True, unless_longer_than=code) or self._option(
            rest[code:].lstrip(_SEPARATORS), with_code=True
        )

    def _option(self, text: str, *, with_code: bool, unless_longer_than: int = 0):
        # The longest option first: "deploy now" before "deploy".
        for word, option in sorted(self.words().items(), key=lambda item: -len(item[0])):
            length = _prefix(text, word)
            if length is not None and length > unless_longer_than:
                return Answer(option, text[length:].strip(_SEPARATORS), with_code)
        return None

    @classmethod
    def asked_in(cls, text: str) -> Question | None:
        """The question a text asks, read back from what `text()` wrote (the last code line
        and the way to answer above it); None for a text that asks none."""
        codes = _CODE_LINE.findall(text or "")
        if not codes:
            return None
        lines = text[: text.rindex(f"Code {codes[-1]}:")].splitlines()
        how = lines[-1] if lines else ""
        if how == _APPROVAL_HOW + _THEN:
            return cls((APPROVE, REJECT), codes[-1], True)
        if how.startswith(_CHOICE_HOW) and how.endswith(_THEN):
            options = how[len(_CHOICE_HOW) : -len(_THEN)].split(", ")
            return cls(tuple(options), codes[-1], False)
        return cls((), codes[-1], False)  # its options unread: no reply is taken to answer it

    def text(self, subject: str, body: str | None, link: str | None) -> str:
        """The question as texted: subject, body, how to answer, the code, the link."""
        how = _APPROVAL_HOW if self.approval else _CHOICE_HOW + ", ".join(self.options)
        lines = [subject.strip()]
        if body and body.strip():
            lines.append(body.strip())
        lines.append(how + _THEN)
        lines.append(f"Code {self.code}: start your reply with it if other questions are open.")
        if link:
            lines.append(link)
        return "\n".join(lines)


def _prefix(text: str, word: str) -> int | None:
    """How many characters of `text` spell `word` (case-insensitive) as a whole word at its
    start, or None. Counted on `text` itself: folding may change a length ("Straße")."""
    wanted = word.casefold()
    for length in range(1, len(text) + 1):
        folded = text[:length].casefold()
        if folded == wanted:
            rest = text[length:]
            return length if not rest or not (rest[0].isalnum() or rest[0] == "_") else None
        if not wanted.startswith(folded):
            return None
    return None


def _skeleton(option: str) -> str:
    """How an option looks: compatibility forms, look-alike letters of other scripts,
    accents and case set aside."""
    text = unicodedata.normalize("NFKC", option).translate(_LOOK_ALIKE)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.casefold()


def open_questions(
    asked: Iterable[tuple[float, Question]],
    replies: Iterable[tuple[float, str]],
    *,
    at: float,
) -> set[str]:
    """The codes of the questions texted to one number that are open at `at` as far as the
    channel shows: asked at or before `at` (`asked`: when, what) and not answered by an
    earlier reply from that number (`replies`: when, text). A reply answers the question
    whose code it starts with, or without a code the only question then open; an answer
    given elsewhere (in Airflow, the defaults) is not on the channel, so that question stays
    open. A question asked again (a cleared task) is open again."""
    events = sorted(
        [(when, 0, question) for when, question in asked]
        + [(when, 1, text) for when, text in replies],
        key=lambda event: (event[0], event[1]),  # a question before a reply of its instant
    )
    open_: dict[str, Question] = {}
    for when, kind, item in events:
        if when > at or (kind == 1 and when == at):
            break
        if kind == 0:
            open_[item.code] = item
            continue
        for code, question in list(open_.items()):
            if question.read(item, code_required=len(open_) > 1) is not None:
                del open_[code]
                break
    return set(open_)
