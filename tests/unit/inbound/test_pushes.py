"""Reading pushed events back: every event once, in order, across pages and reads, with rows
that settle late read again but not given twice."""

from airflow_provider_sms.inbound.pushes import PushedEvents


class Kept:
    """The receiver's `events` route over rows (id, key, settled), as store.read answers:
    rows after `after`, a page at a time, the cursor stopping before the first unsettled."""

    def __init__(self, page: int):
        self.rows: list[tuple[int, str, bool]] = []
        self.page = page
        self.asked: list[int] = []

    def answer(self, after: int) -> dict:
        self.asked.append(after)
        rows = [row for row in self.rows if row[0] > after][: self.page]
        cursor = after
        for row_id, _, settled in rows:
            if not settled:
                break
            cursor = row_id
        events = [{"id": i, "key": k, "payload": {"id": k}} for i, k, _ in rows]
        return {"events": events, "cursor": cursor}


def reader(kept: Kept, monkeypatch) -> PushedEvents:
    import airflow_provider_sms.inbound.pushes as pushes

    monkeypatch.setattr(pushes, "MAX_READ_EVENTS", kept.page)
    events = PushedEvents(url="http://x", conn_id="c", signing_key="k", channel_id="ch", event="e")
    monkeypatch.setattr(events, "_page", kept.answer)
    return events


def ids(payloads: list[dict]) -> list[str]:
    return [p["id"] for p in payloads]


def test_every_page_is_read_in_one_read(monkeypatch):
    kept = Kept(page=2)
    kept.rows = [(i, f"k{i}", True) for i in range(1, 6)]
    events = reader(kept, monkeypatch)
    assert ids(events.read()) == ["k1", "k2", "k3", "k4", "k5"]
    assert events.cursor == 5
    assert ids(events.read()) == []


def test_rows_not_settled_are_read_again_and_given_once(monkeypatch):
    kept = Kept(page=2)
    # Row 3 is still fresh: the cursor stays at 2 even though rows 4 and 5 were read.
    kept.rows = [(1, "k1", True), (2, "k2", True), (3, "k3", False), (4, "k4", True)]
    events = reader(kept, monkeypatch)
    assert ids(events.read()) == ["k1", "k2", "k3", "k4"]
    assert events.cursor == 2
    # Row 3 settles and row 5 arrives: only row 5 is new.
    kept.rows = [(i, f"k{i}", True) for i in range(1, 6)]
    assert ids(events.read()) == ["k5"]
    assert events.cursor == 5
    assert events.read() == []


def test_a_late_row_below_the_rows_read_is_given(monkeypatch):
    kept = Kept(page=10)
    kept.rows = [(1, "k1", True), (3, "k3", False)]
    events = reader(kept, monkeypatch)
    assert ids(events.read()) == ["k1", "k3"]
    assert events.cursor == 1
    kept.rows = [(1, "k1", True), (2, "k2", True), (3, "k3", True)]
    assert ids(events.read()) == ["k2"]
    assert events.cursor == 3
