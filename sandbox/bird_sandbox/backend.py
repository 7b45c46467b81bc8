"""Bird's side of the sandbox: the seeded workspace, its channels, templates, messages and
batches, and Bird's rules, as methods named after Bird's operations. No HTTP here: tests can
call the operations directly, and the route table (:mod:`.routes`) maps HTTP requests to them.

Every operation either answers what Bird would answer, as a dict, or raises :class:`ApiError`
in Bird's error shape. State sits behind one lock; validation runs outside it.

:class:`SandboxBackend` holds the state; its operations come by job from :mod:`.channels`
(workspace, channels), :mod:`.messages` (sending one message, reading it), :mod:`.batches`
(batch sends), :mod:`.listing` (listing a channel's messages), :mod:`.inbound` (inbound
messages, interactions and the answering recipients' replies) and :mod:`.media` (presigned
uploads and the storage behind them) and :mod:`.webhooks` (webhook subscriptions, and the
events they get), with a message's status over time in :mod:`.statuses`, template rendering
in :mod:`.templates` and the webhook deliveries' threads in :mod:`.deliveries`. A new Bird
operation is a method on one of them, and a row in :data:`.routes.BIRD_ROUTES`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from . import settings
from .batches import FAILURE_CODES, BatchOperations
from .channels import ChannelOperations
from .deliveries import WebhookDeliveries
from .errors import ApiError, invalid, not_found
from .inbound import INTERACTION_TYPES, InboundOperations
from .listing import BATCH_SETTLE_TIMEOUT, ListingOperations
from .media import MediaOperations, Upload
from .messages import MessageOperations, copy_json
from .webhooks import WebhookOperations

__all__ = [
    "BATCH_SETTLE_TIMEOUT",
    "FAILURE_CODES",
    "INTERACTION_TYPES",
    "ApiError",
    "SandboxBackend",
    "Upload",
    "invalid",
    "not_found",
]


@settings.properties("backend")
class SandboxBackend(
    ChannelOperations,
    MessageOperations,
    BatchOperations,
    ListingOperations,
    InboundOperations,
    MediaOperations,
    WebhookOperations,
):
    """The workspace: channels, templates, stored messages and batches. Thread-safe.

    The settings :mod:`.settings` gives the backend are keywords here and attributes after;
    :meth:`reset` restores those given. ``clock`` (UNIX time, ``time.time`` unless given)
    stamps and ages messages: a test can step it to see each status without waiting.
    """

    @settings.with_signature("backend")
    def __init__(self, *, clock: Callable[[], float] = time.time, **given: Any):
        self._initial_settings = settings.initial(given, "backend")
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._generation = 0
        with self._lock:
            self._reset_locked()
        self.webhooks = WebhookDeliveries(self, self._generation)

    def _reset_locked(self) -> None:
        self._generation += 1
        # Messages in arrival order; a message's position in this list never changes.
        self._messages: list[dict] = []
        self._position: dict[str, int] = {}  # message id -> position
        # By position: when the message's timeline starts (UNIX time) and its stages
        # (see _stages), None for a message whose status never changes.
        self._origins: list[float] = []
        self._stages: list[tuple | None] = []
        self._settings = dict(self._initial_settings)
        self._by_channel: dict[str, list[int]] = {}  # positions, ascending
        self._by_batch: dict[str, list[int]] = {}
        self._batch_channel: dict[str, str] = {}
        self._pending: dict[str, int] = {}  # batchId -> items not yet processed
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
        self._reset_webhooks_locked()
        self._changed.notify_all()

    def reset(self) -> None:
        """Forget every message (sent or received), batch, upload, interaction, pending
        reply, webhook subscription and delivery (retries too); restore the settings given
        to the constructor."""
        with self._lock:
            self._reset_locked()
            self.webhooks.reset(self._generation)

    def close(self) -> None:
        """Stop the batch worker (pending items are dropped) and the webhook deliveries."""
        worker, self._worker = self._worker, None
        if worker is not None:
            self._jobs.put(None)
            worker.join(timeout=5)
        self.webhooks.close()

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
