"""Bird's side of the sandbox: the seeded workspace, its channels, templates, messages and
batches, and Bird's rules, as methods named after Bird's operations. No HTTP here: tests can
call the operations directly, and the route table (:mod:`.routes`) maps HTTP requests to them.

Every operation either answers what Bird would answer, as a dict, or raises :class:`ApiError`
in Bird's error shape. State sits behind one lock; validation runs outside it.

:class:`SandboxBackend` holds the state; its operations come by job from :mod:`.channels`
(workspace, channels), :mod:`.messages` (sending one message, reading it), :mod:`.batches`
(batch sends), :mod:`.listing` (listing a channel's messages), :mod:`.inbound` (inbound
messages, interactions and the answering recipients' replies) and :mod:`.media` (presigned
uploads and the storage behind them), with a message's status over
time in :mod:`.statuses` and template rendering in :mod:`.templates`. A new Bird operation is a
method on one of them, and a row in :data:`.routes.BIRD_ROUTES`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .batches import FAILURE_CODES, BatchOperations
from .channels import ChannelOperations
from .errors import ApiError, invalid, not_found
from .inbound import DEFAULT_REPLY_DELAY, INTERACTION_TYPES, InboundOperations, check_reply_delay
from .listing import BATCH_SETTLE_TIMEOUT, DEFAULT_LISTING, LISTING_ORDERS, ListingOperations
from .listing import check_listing as _check_listing
from .media import DEFAULT_UPLOAD, MediaOperations, Upload
from .media import check_upload as _check_upload
from .messages import MessageOperations, copy_json
from .statuses import DEFAULT_STATUS_DELAYS, DELAY_NAMES
from .statuses import check_delays as _check_delays

__all__ = [
    "BATCH_SETTLE_TIMEOUT",
    "DEFAULT_LISTING",
    "DEFAULT_REPLY_DELAY",
    "DEFAULT_STATUS_DELAYS",
    "DEFAULT_UPLOAD",
    "FAILURE_CODES",
    "INTERACTION_TYPES",
    "LISTING_ORDERS",
    "ApiError",
    "SandboxBackend",
    "Upload",
    "invalid",
    "not_found",
]


class SandboxBackend(
    ChannelOperations,
    MessageOperations,
    BatchOperations,
    ListingOperations,
    InboundOperations,
    MediaOperations,
):
    """The workspace: channels, templates, stored messages and batches, and the recipients
    the sandbox rejects. Thread-safe.

    ``status_delays``: seconds after acceptance at which a message becomes processing, sent
    and delivered (``DEFAULT_STATUS_DELAYS`` unless given; a mapping may name some of them);
    None keeps every message in the status it was accepted with. :meth:`reset` restores it.
    ``clock`` (UNIX time, ``time.time`` unless given) stamps and ages messages: a test can
    step it to see each status without waiting.
    ``listing``: how listing messages behaves where Bird's documentation is silent (see
    ``DEFAULT_LISTING``; a mapping may name some keys): ``order`` ``newest_first`` or
    ``oldest_first``; ``page_token_field``, the answer field naming the next page (None:
    none); ``full_last_page_token`` False names no next page after a full last page (True
    names one, which is empty); ``batch_filter`` False ignores ``batchId`` and lists the whole
    channel; ``other_channel``, what reading a message under another channel answers
    (``OTHER_CHANNEL_ANSWERS``). :meth:`reset` restores it.
    ``upload``: how presigned uploads behave where Bird's documentation is silent (see
    ``DEFAULT_UPLOAD``; a mapping may name some keys). :meth:`reset` restores it.
    ``reply_delay``: seconds after a message to an answering recipient goes out at which it
    answers (:data:`.catalogue.ANSWERING_RECIPIENTS`). :meth:`reset` restores it.
    """

    def __init__(
        self,
        *,
        status_delays: Mapping[str, float] | None = DEFAULT_STATUS_DELAYS,
        clock: Callable[[], float] = time.time,
        listing: Mapping[str, Any] = DEFAULT_LISTING,
        upload: Mapping[str, Any] = DEFAULT_UPLOAD,
        reply_delay: float = DEFAULT_REPLY_DELAY,
    ):
        self._initial_reply_delay = check_reply_delay(reply_delay)
        self._initial_delays = _check_delays(status_delays, None)
        self._initial_listing = _check_listing(listing, DEFAULT_LISTING)
        self._initial_upload = _check_upload(upload, DEFAULT_UPLOAD)
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._generation = 0
        with self._lock:
            self._reset_locked()

    def _reset_locked(self) -> None:
        self._generation += 1
        # Messages in arrival order; a message's position in this list never changes.
        self._messages: list[dict] = []
        self._position: dict[str, int] = {}  # message id -> position
        # By position: when the message's timeline starts (UNIX time) and its stages
        # (see _stages), None for a message whose status never changes.
        self._origins: list[float] = []
        self._stages: list[tuple | None] = []
        self._delays = self._initial_delays
        self._listing = dict(self._initial_listing)
        self._by_channel: dict[str, list[int]] = {}  # positions, ascending
        self._by_batch: dict[str, list[int]] = {}
        self._batch_channel: dict[str, str] = {}
        self._pending: dict[str, int] = {}  # batchId -> items not yet processed
        self._reject: frozenset[str] = frozenset()
        self._upload = dict(self._initial_upload)
        self._uploads: dict[str, Upload] = {}  # upload id -> its upload, in presign order
        self._media: dict[str, str] = {}  # media id -> upload id
        # The return path (inbound.py): the latest createdAt stored per channel (UNIX time),
        # interactions in the order they happened and by message id, replies not yet due.
        self._latest: dict[str, float] = {}
        self._inbound = 0  # inbound messages among the stored ones
        self._interactions: list[dict] = []
        self._interactions_of: dict[str, list[int]] = {}
        self._replies: list[tuple] = []  # a heap of (due, sequence, answer, number, message)
        self._reply_count = 0
        self._reply_delay = self._initial_reply_delay
        self._changed.notify_all()

    def reset(self) -> None:
        """Forget every message (sent or received), batch, upload, interaction, pending reply
        and rejected recipient; restore the settings."""
        with self._lock:
            self._reset_locked()

    def close(self) -> None:
        """Stop the batch worker (pending items are dropped)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            self._jobs.put(None)
            worker.join(timeout=5)

    @property
    def reject_recipients(self) -> frozenset[str]:
        """Phone numbers whose messages are rejected (422, or a rejected batch item)."""
        return self._reject

    @reject_recipients.setter
    def reject_recipients(self, numbers) -> None:
        if isinstance(numbers, str) or not all(isinstance(n, str) for n in numbers):
            raise ValueError("reject_recipients must be a list of phone numbers")
        self._reject = frozenset(numbers)

    @property
    def status_delays(self) -> dict[str, float] | None:
        """Seconds after acceptance at which a message becomes processing, sent, delivered;
        None: messages keep the status they were accepted with. Setting it (some of the
        three, or None) applies to messages accepted from then on."""
        delays = self._delays
        return None if delays is None else dict(zip(DELAY_NAMES, delays, strict=True))

    @status_delays.setter
    def status_delays(self, value: Mapping[str, float] | None) -> None:
        with self._lock:
            self._delays = _check_delays(value, self._delays)

    @property
    def listing(self) -> dict[str, Any]:
        """How listing messages behaves: order, page_token_field, full_last_page_token,
        batch_filter, other_channel."""
        return dict(self._listing)

    @listing.setter
    def listing(self, value: Mapping[str, Any]) -> None:
        with self._lock:
            self._listing = _check_listing(value, self._listing)

    @property
    def reply_delay(self) -> float:
        """Seconds after a message to an answering recipient goes out at which it answers;
        setting it applies to messages sent from then on."""
        return self._reply_delay

    @reply_delay.setter
    def reply_delay(self, value: float) -> None:
        delay = check_reply_delay(value)
        with self._lock:
            self._reply_delay = delay

    # inspection --------------------------------------------------------------------------

    def messages(self) -> list[dict]:
        """Every stored message, sent or received (copies, in their current status), in
        arrival order."""
        now = self._clock()
        with self._lock:
            self._settle_locked(now)
            shown = [self._view_locked(p, now) for p in range(len(self._messages))]
        return copy_json(shown)

    def message_count(self) -> int:
        """How many messages were accepted (received ones aside)."""
        with self._lock:
            return len(self._messages) - self._inbound
