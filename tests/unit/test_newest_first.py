"""The one newest-first walk of a channel's messages: when it lets a reader stop early."""

from datetime import UTC, datetime

from airflow_provider_sms.bird.listing import NewestFirst

T0 = 1_750_000_000.0


def at(seconds):
    return datetime.fromtimestamp(T0 + seconds, UTC).isoformat().replace("+00:00", "Z")


def pages(*ages, undated_in=None):
    """Pages of messages aged by each tuple of `ages` (seconds after T0)."""
    listed = [[{"id": f"m{a}", "createdAt": at(a)} for a in page] for page in ages]
    if undated_in is not None:
        listed[undated_in].append({"id": "undated", "createdAt": "yesterday"})
    return listed


def walked(walk, floor):
    """(messages, stamps of the page, past floor?) page by page, as a reader sees them."""
    return [(len(page), stamps, walk.past(floor)) for page, stamps in walk]


def test_a_listing_seen_newest_first_is_past_a_floor_once_a_whole_page_is_older():
    walk = NewestFirst(pages((90, 80), (70, 60), (50, 40)))
    seen = walked(walk, floor=T0 + 65)
    assert [past for *_, past in seen] == [False, False, True]
    assert seen[0][1] == [T0 + 90, T0 + 80]
    assert not walk.oldest_first


def test_the_first_page_alone_never_shows_the_order():
    assert [past for *_, past in walked(NewestFirst(pages((10, 5))), floor=T0 + 100)] == [False]


def test_a_listing_oldest_first_is_never_past_its_floor():
    walk = NewestFirst(pages((40, 50), (60, 70)))
    assert [past for *_, past in walked(walk, floor=T0 + 100)] == [False, False]
    assert walk.oldest_first


def test_an_undated_message_forbids_an_early_stop_unless_it_is_skipped():
    strict = walked(NewestFirst(pages((90, 80), (50, 40), undated_in=1)), floor=T0 + 65)
    assert [past for *_, past in strict] == [False, False]
    assert strict[1][1] == [T0 + 50, T0 + 40, None]
    lenient = NewestFirst(pages((90, 80), (50, 40), undated_in=1), skip_undated=True)
    assert [past for *_, past in walked(lenient, floor=T0 + 65)] == [False, True]
