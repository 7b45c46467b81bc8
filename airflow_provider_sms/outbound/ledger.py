"""A write-ahead ledger of one message's recipients, in Airflow's task state store (3.3+).

Recipients are recorded *in flight* (a group at a time, before any of their requests leaves)
and then *sent* with Bird's message id, or forgotten when Bird certainly did not accept them.
A later try of the same run of the task instance skips what was sent and reconciles what is
still in flight with Bird before sending anything to it.

Layout: ``bird-ledger:m<max_tries>:meta`` (when the first try began, the message's digest,
how many groups there are), ``bird-ledger:m<max_tries>:media`` (what was uploaded for an
MMS, see ``outbound.uploads``) and ``bird-ledger:m<max_tries>:<n>``, one key per group of up to
~800 recipients, each value well under the store's 64 KB guidance, so a retry of a
100,000-recipient send reads ~125 keys. A group is written before the meta record counts it,
and both before any of its recipients is sent: a group the meta record counts but the store
no longer holds is a gap, and every recipient not recorded as sent is then in doubt.

The ledger is named after the task instance's `max_tries` as the database keeps it: Airflow
leaves it alone between the tries of one run of a task instance (it deliberately does not
refresh it from the DAG file's `retries`) and raises it when the task instance is cleared.
Nothing the DAG file says between tries changes which ledger a try reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_sms.bird.fanout import Accepted

_PREFIX = "bird-ledger"
# The status of what an earlier try sent, in this try's result.
ALREADY_SENT = "already_sent"


def max_tries_of(ti: Any) -> int:
    """Which ledger this try reads and writes: the task instance's `max_tries` from the
    database (the same for every try of this run of it, raised by a clear), or 0 when the
    task instance does not say."""
    max_tries = getattr(ti, "max_tries", None)
    return max_tries if isinstance(max_tries, int) and not isinstance(max_tries, bool) else 0


def approval_asked_key(ti: Any) -> str:
    """Where SmsApprovalOperator records when its question first went out, beside the ledger
    of that send: a clear starts both afresh, so the question asked again waits for a reply
    to itself, for its own `response_timeout`."""
    return f"sms-approval:asked:m{max_tries_of(ti)}"


@dataclass
class Earlier:
    """What earlier tries left: what Bird accepted, by recipient (status ``already_sent``;
    the message id is None for a batch not yet checked), and those still in flight."""

    sent: dict[str, Accepted] = field(default_factory=dict)
    in_flight: list[str] = field(default_factory=list)
    started: float | None = None
    digest: str | None = None
    # Groups the meta record counts that the store no longer holds (or -1: no meta record
    # although groups exist): whoever they held is unknown.
    lost_groups: list[int] = field(default_factory=list)


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


class TryStore(dict):
    """A store that lasts one try: the ledger's bookkeeping where Airflow keeps no task state
    (before 3.3), when Bird itself is the record a retry reads."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


class Ledger:
    def __init__(self, store: Any, *, max_tries: int, record: str = ""):
        # `record`: which of the task's sends this is, when it makes several (the hook's
        # TaskFlow verbs); the first, or an operator's only one, has none.
        self.store = store
        self.prefix = f"{_PREFIX}:m{max_tries}" + (f":{record}" if record else "")
        self._groups: list[_Group] = []
        self._group_of: dict[str, int] = {}
        self._meta: dict[str, Any] = {}

    def _key(self, index: int) -> str:
        return f"{self.prefix}:{index}"

    def load(self) -> Earlier:
        """Read what earlier tries recorded (later groups win)."""
        self._meta = dict(self.store.get(f"{self.prefix}:meta") or {})
        counted = self._meta.get("groups")
        counted = counted if isinstance(counted, int) else 0
        lost: list[int] = []
        index = 0
        # Every group the meta record counts, then any written after it was last updated.
        while True:
            state = self.store.get(self._key(index))
            if state is None:
                if index >= counted:
                    break
                lost.append(index)
            group = _Group(state)
            self._groups.append(group)
            for recipient in (*group.in_flight, *group.sent):
                self._group_of[recipient] = index
            for members in group.batches.values():
                self._group_of.update(dict.fromkeys(members, index))
            index += 1
        if (self._groups and not self._meta) or self._meta.get("lost"):
            lost.append(-1)
        earlier = Earlier(
            started=self._meta.get("started"), digest=self._meta.get("digest"), lost_groups=lost
        )
        for recipient, index in self._group_of.items():
            group = self._groups[index]
            if recipient in group.in_flight:
                earlier.in_flight.append(recipient)
            elif recipient in group.sent:
                earlier.sent[recipient] = Accepted(recipient, group.sent[recipient], ALREADY_SENT)
            else:
                batch = next(b for b, members in group.batches.items() if recipient in members)
                earlier.sent[recipient] = Accepted(recipient, None, ALREADY_SENT, batch)
        return earlier

    def begin(self, *, started: float, digest: str, earlier: Earlier) -> None:
        """Remember when the first try began and what it sent (only the first try writes),
        and that part of the record was lost, for every later try."""
        if earlier.lost_groups:
            # Once lost, the recipients it held stay unknown to every later try.
            self._meta["lost"] = True
        elif earlier.started is None and not self._groups:
            self._meta.update(started=started, digest=digest)
        else:
            return
        self._write_meta()

    def _write_meta(self) -> None:
        self._meta["groups"] = len(self._groups)
        self.store.set(f"{self.prefix}:meta", self._meta)

    def uploads(self) -> dict[str, str]:
        """Media an earlier try uploaded: file key (``MediaFile.key``) -> Bird's media URL."""
        recorded = self.store.get(f"{self.prefix}:media")
        return dict(recorded) if isinstance(recorded, dict) else {}

    def record_upload(self, key: str, media_url: str) -> None:
        """Remember an upload before any message carries it: a later try uses the same
        URL, so its messages (and their digest) are the same as this try's."""
        self.store.set(f"{self.prefix}:media", {**self.uploads(), key: media_url})

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
        self._write_meta()

    def settle(self, accepted: list[Accepted], refused: list[str]) -> None:
        """Record what Bird accepted (with its message id and/or batch id) and
        forget what it certainly did not accept (`refused`): a retry sends those again."""
        touched: set[int] = set()
        for recipient in refused:
            index = self._group_of.get(recipient)
            if index is not None:
                self._groups[index].forget(recipient)
                touched.add(index)
        for entry in accepted:
            recipient = entry.recipient
            index = self._group_of.get(recipient)
            if index is None:  # not released by this ledger: record it in a group of its own
                self.before_send([recipient])
                index = self._group_of[recipient]
            group = self._groups[index]
            group.forget(recipient)
            if entry.message_id or not entry.batch_id:
                group.sent[recipient] = entry.message_id
            else:
                group.batches.setdefault(entry.batch_id, {})[recipient] = None
            touched.add(index)
        for index in sorted(touched):
            self.store.set(self._key(index), self._groups[index].state())
