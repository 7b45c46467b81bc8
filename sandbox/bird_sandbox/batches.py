"""Batches: createBatchMessages checks only the envelope and answers at once; a worker thread
then validates each item in order, as Bird does, storing an invalid one as a rejected
message."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from .errors import ApiError, invalid
from .statuses import REJECTED
from .validation import validation_details

# Failure codes put on batch items rejected during asynchronous validation (Bird's 11xxx range
# is "async validation"; the exact numbers are the sandbox's own).
FAILURE_CODES = {
    "InvalidPayload": 11001,
    "RecipientRejected": 11002,
    "NotFound": 11003,
    "ConflictingConditions": 11004,
}


class BatchOperations:
    """createBatchMessages and its worker, over the backend's state (see
    :class:`.SandboxBackend`)."""

    def create_batch_messages(self, workspace_id: str, channel_id: str, payload: Any) -> dict:
        """createBatchMessages: accept up to 100 messages; ``{"batchId": ...}``.

        Only the envelope is checked now. Each item is validated afterwards, in order, by a
        worker thread, as Bird does: an invalid item is stored as a rejected message.
        """
        self.require(workspace_id, channel_id)
        details = validation_details("create_batch", payload)
        if details:
            raise invalid(details)
        batch_id = str(uuid.uuid4())
        items = payload["messageRequests"]
        with self._lock:
            generation = self._generation
            self._pending[batch_id] = len(items)
            self._batch_channel[batch_id] = channel_id
            self._ensure_worker_locked()
        for item in items:
            self._jobs.put((generation, workspace_id, channel_id, batch_id, item))
        return {"batchId": batch_id}

    def wait_idle(self, timeout: float = 5.0, batch_id: str | None = None) -> bool:
        """Wait until queued batch items (of ``batch_id``, or all) are processed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending.get(batch_id, 0) if batch_id else self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _ensure_worker_locked(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._work, name="bird-sandbox-batch", daemon=True
            )
            self._worker.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            generation, workspace_id, channel_id, batch_id, item = job
            accepted_at = self._clock()
            try:
                message = self._build_message(
                    workspace_id, channel_id, item, batch_id=batch_id, accepted_at=accepted_at
                )
            except ApiError as exc:
                message = self._rejected_message(
                    workspace_id, channel_id, item, batch_id, exc, accepted_at
                )
            except Exception as exc:  # a sandbox bug must not leave the batch pending forever
                error = ApiError(500, "InternalError", f"sandbox error: {exc!r}")
                message = self._rejected_message(
                    workspace_id, channel_id, item, batch_id, error, accepted_at
                )
            timeline = self._timeline(message, accepted_at)
            with self._lock:
                if generation != self._generation:
                    continue  # reset() while the batch was queued
                self._store_live_locked(message, accepted_at, *timeline)
                left = self._pending.get(batch_id, 1) - 1
                if left > 0:
                    self._pending[batch_id] = left
                else:
                    self._pending.pop(batch_id, None)
                self._changed.notify_all()

    def _rejected_message(
        self,
        workspace_id: str,
        channel_id: str,
        payload: Any,
        batch_id: str,
        error: ApiError,
        accepted_at: float,
    ) -> dict:
        payload = payload if isinstance(payload, dict) else {}
        message = self._message_shell(workspace_id, channel_id, payload, batch_id, accepted_at)
        description = error.message
        if error.details:
            description += ": " + "; ".join(
                f"{where} {', '.join(problems)}" for where, problems in error.details.items()
            )
        message.update(
            status=REJECTED,
            reason=description,
            failure={
                "code": FAILURE_CODES.get(error.code, 11000),
                "description": description,
                "source": {"name": "pre-processing", "code": error.code},
            },
        )
        return message
