"""A write-ahead ledger of one message's recipients, in Airflow's task state store (3.3+).

Recipients are recorded *in flight* (a group at a time, before any of their requests leaves)
and then *sent* with Bird's message id, or forgotten when Bird certainly did not accept them.
A later try of the same run of the task instance skips what was sent and reconciles what is
still in flight with Bird before sending anything to it.

Layout: ``bird-ledger:<generation>:meta`` (when the first try began, the message's digest)
and ``bird-ledger:<generation>:<n>``, one key per group of up to ~800 recipients, each value
well under the store's 64 KB guidance, so a retry of a 100,000-recipient send reads ~125 keys.
The generation is Airflow's first try number of the current run of the task instance: the
same for every retry, new when the task instance is cleared (Airflow raises `max_tries`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_PREFIX = "bird-ledger"


def generation_of(ti: Any) -> int:
    """Airflow's first try number of this run of the task instance: `max_tries - retries + 1`
    (as Airflow itself computes it), or 1 when the task instance does not say."""
    max_tries = getattr(ti, "max_tries", None)
    retries = getattr(getattr(ti, "task", None), "retries", None) or 0
    if isinstance(max_tries, int) and isinstance(retries, int) and max_tries >= retries:
        return max_tries - retries + 1
    return 1


@dataclass
class Earlier:
    """What earlier tries left: recipient -> ``[message id, batch id]`` for those Bird
    accepted (the id is None for a batch not yet checked), and those still in flight."""

    sent: dict[str, list] = field(default_factory=dict)
    in_flight: list[str] = field(default_factory=list)
    started: float | None = None
    digest: str | None = None


class _Group:
    __slots__ = ("in_flight", "sent", "batches")

    def __init__(self, state: dict | None = None):
        state = state or {}
        self.in_flight: dict[str, None] = dict.fromkeys(state.get("in_flight", ()))
        self.sent: dict[str, str | None] = dict(state.get("sent", {}))
        self.batches: dict[str, dict[str, None]] = {
            batch: dict.fromkeys(members) for batch, members in state.get("batches", {}).items()
        }

    def forget(self, recipient: str) -> None:
        self.in_flight.pop(recipient, None)
        self.sent.pop(recipient, None)
        for members in self.batches.values():
            members.pop(recipient, None)

    def state(self) -> dict:
        state: dict[str, Any] = {}
        if self.in_flight:
            state["in_flight"] = list(self.in_flight)
        if self.sent:
            state["sent"] = self.sent
        batches = {batch: list(members) for batch, members in self.batches.items() if members}
        if batches:
            state["batches"] = batches
        return state


class Ledger:
    def __init__(self, store: Any, generation: int):
        self.store = store
        self.prefix = f"{_PREFIX}:{generation}"
        self._groups: list[_Group] = []
        self._group_of: dict[str, int] = {}

    def _key(self, index: int) -> str:
        return f"{self.prefix}:{index}"

    def load(self) -> Earlier:
        """Read what earlier tries recorded (later groups win)."""
        meta = self.store.get(f"{self.prefix}:meta") or {}
        while (state := self.store.get(self._key(len(self._groups)))) is not None:
            group = _Group(state)
            index = len(self._groups)
            self._groups.append(group)
            for recipient in (*group.in_flight, *group.sent):
                self._group_of[recipient] = index
            for members in group.batches.values():
                self._group_of.update(dict.fromkeys(members, index))
        earlier = Earlier(started=meta.get("started"), digest=meta.get("digest"))
        for recipient, index in self._group_of.items():
            group = self._groups[index]
            if recipient in group.in_flight:
                earlier.in_flight.append(recipient)
            elif recipient in group.sent:
                earlier.sent[recipient] = [group.sent[recipient], None]
            else:
                batch = next(b for b, members in group.batches.items() if recipient in members)
                earlier.sent[recipient] = [None, batch]
        return earlier

    def begin(self, *, started: float, digest: str, earlier: Earlier) -> None:
        """Remember when the first try began and what it sent (only the first try writes)."""
        if earlier.started is None:
            self.store.set(f"{self.prefix}:meta", {"started": started, "digest": digest})

    def before_send(self, recipients: list[str]) -> None:
        """Record `recipients` in flight: a new group, written before any of them is sent."""
        index = len(self._groups)
        group = _Group()
        group.in_flight = dict.fromkeys(recipients)
        for recipient in recipients:
            previous = self._group_of.get(recipient)
            if previous is not None:
                self._groups[previous].forget(recipient)
            self._group_of[recipient] = index
        self._groups.append(group)
        self.store.set(self._key(index), group.state())

    def settle(self, accepted: list[dict], refused: list[str]) -> None:
        """Record what Bird accepted (entries with ``message_id`` and/or ``batch_id``) and
        forget what it certainly did not accept (`refused`): a retry sends those again."""
        touched: set[int] = set()
        for recipient in refused:
            index = self._group_of.get(recipient)
            if index is not None:
                self._groups[index].forget(recipient)
                touched.add(index)
        for entry in accepted:
            recipient = entry["recipient"]
            index = self._group_of.get(recipient)
            if index is None:  # not released by this ledger: record it in a group of its own
                self.before_send([recipient])
                index = self._group_of[recipient]
            group = self._groups[index]
            group.forget(recipient)
            if entry.get("message_id") or not entry.get("batch_id"):
                group.sent[recipient] = entry.get("message_id")
            else:
                group.batches.setdefault(entry["batch_id"], {})[recipient] = None
            touched.add(index)
        for index in sorted(touched):
            self.store.set(self._key(index), self._groups[index].state())
