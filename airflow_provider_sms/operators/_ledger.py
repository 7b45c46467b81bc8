"""The recipients an earlier, unfinished try of a task instance already sent a message to,
kept in Airflow's task state store (Airflow 3.3+)."""

from __future__ import annotations

from typing import Any

from airflow_provider_sms.model import Outgoing

# Keep each stored value small (the store warns above 64 KB): ~1,000 entries a key.
_GROUP_MAX = 1000


class SentLedger:
    """Entries are written in groups under numbered keys: one state-store write per group
    instead of one per recipient keeps the store (about 10 ms a write) from capping the send
    rate. The message's digest in the keys means a changed message is sent again. A try that
    completes starts a new generation, so clearing a finished task sends the message again,
    as whoever cleared it intends."""

    def __init__(self, store: Any, outgoing: Outgoing):
        self.store = store
        self.base = f"bird-sent:{outgoing.digest}"
        self.generation = 0
        self.next_group = 0

    def _key(self, group: int) -> str:
        return f"{self.base}:{self.generation}:{group}"

    def load(self) -> dict[str, list]:
        """``{recipient: [message id, batch id]}`` for what earlier tries recorded."""
        self.generation = self.store.get(f"{self.base}:generation", 0)
        sent: dict[str, list] = {}
        while (group := self.store.get(self._key(self.next_group))) is not None:
            for recipient, entry in group.items():
                if entry is None:
                    sent.pop(recipient, None)
                else:
                    sent[recipient] = entry
            self.next_group += 1
        return sent

    def record(self, entries: list[dict], *, forget: list[str] = ()) -> None:
        """Add `entries` (later groups win); `forget` removes recipients recorded before."""
        group: dict[str, list | None] = dict.fromkeys(forget)
        group.update({e["recipient"]: [e["message_id"], e.get("batch_id")] for e in entries})
        items = list(group.items())
        for start in range(0, len(items), _GROUP_MAX):
            self.store.set(self._key(self.next_group), dict(items[start : start + _GROUP_MAX]))
            self.next_group += 1

    def complete(self) -> None:
        self.store.set(f"{self.base}:generation", self.generation + 1)
