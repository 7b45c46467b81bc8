"""Listing variants in the backend (bird_sandbox/listing.py): order, page token field, a token after
a full last page or none, batch filter."""

import pytest

from bird_sandbox import (
    DEFAULT_LISTING,
    MMS_CHANNEL_ID,
    WORKSPACE_ID,
    SandboxBackend,
)

BATCH = "0c6f3f5e-0000-4000-8000-00000000000b"


def pages(backend, **query):
    """Every page's recipients, following whichever token field the backend uses."""
    field = backend.listing["page_token_field"] or "nextPageToken"
    seen, token = [], None
    while True:
        page = backend.list_messages(
            WORKSPACE_ID, MMS_CHANNEL_ID, limit=3, page_token=token, **query
        )
        seen.append([m["receiver"]["contacts"][0]["identifierValue"] for m in page["results"]])
        token = page.get(field)
        if not token:
            return seen


@pytest.fixture
def backend_with_history(still_backend):
    """Six messages on the MMS channel: five sent a minute ago, then one of BATCH."""
    still_backend.add_history(MMS_CHANNEL_ID, [f"+3162000000{i}" for i in range(5)], age=60)
    still_backend.add_history(MMS_CHANNEL_ID, ["+31620000009"], age=10, batch_id=BATCH)
    return still_backend


def test_defaults_list_newest_first_with_next_page_token_and_filter_by_batch(backend_with_history):
    assert backend_with_history.listing == dict(DEFAULT_LISTING)
    assert pages(backend_with_history) == [
        ["+31620000009", "+31620000004", "+31620000003"],
        ["+31620000002", "+31620000001", "+31620000000"],
        [],  # a full page names a next one, which may be empty
    ]
    assert pages(backend_with_history, batch_id=BATCH) == [["+31620000009"]]


def test_oldest_first_another_token_field_and_an_ignored_batch_filter(backend_with_history):
    backend_with_history.listing = {"order": "oldest_first"}
    assert pages(backend_with_history) == [
        ["+31620000000", "+31620000001", "+31620000002"],
        ["+31620000003", "+31620000004", "+31620000009"],
        [],
    ]
    backend_with_history.listing = {"page_token_field": "next"}
    first = backend_with_history.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=3)
    assert "nextPageToken" not in first and first["next"]
    assert backend_with_history.listing["order"] == "oldest_first", "keys not named are kept"
    backend_with_history.listing = {"page_token_field": None}
    first = backend_with_history.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=3)
    assert set(first) == {"results"} and len(first["results"]) == 3
    backend_with_history.listing = {"batch_filter": False}
    listed = backend_with_history.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, batch_id=BATCH)[
        "results"
    ]
    assert len(listed) == 6
    backend_with_history.reset()
    assert backend_with_history.listing == dict(DEFAULT_LISTING)


@pytest.mark.parametrize(
    "value",
    [
        {"order": "random"},
        {"page_token_field": ""},
        {"full_last_page_token": 0},
        {"batch_filter": "no"},
        {"other_channel": "maybe"},
        {"sort": "asc"},
        [],
    ],
)
def test_bad_listings_are_refused(backend_with_history, value):
    with pytest.raises(ValueError, match="listing"):
        backend_with_history.listing = value


def test_a_full_last_page_names_a_next_page_which_is_empty():
    for order in ("newest_first", "oldest_first"):
        backend = SandboxBackend(status_delays=None, listing={"order": order})
        backend.add_history(MMS_CHANNEL_ID, [f"+3161{i:07d}" for i in range(100)], age=60)
        first = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=100)
        assert len(first["results"]) == 100 and first["nextPageToken"]
        last = backend.list_messages(
            WORKSPACE_ID, MMS_CHANNEL_ID, limit=100, page_token=first["nextPageToken"]
        )
        assert last == {"results": []}


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_a_full_last_page_can_name_no_next_page_while_earlier_ones_do(order):
    backend = SandboxBackend(
        status_delays=None, listing={"order": order, "full_last_page_token": False}
    )
    backend.add_history(MMS_CHANNEL_ID, [f"+3161{i:07d}" for i in range(200)], age=60)
    first = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=100)
    assert len(first["results"]) == 100 and first["nextPageToken"]
    token = first["nextPageToken"]
    last = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=100, page_token=token)
    assert len(last["results"]) == 100 and "nextPageToken" not in last
    # The same page asked for one message less names a next page: the field is right.
    fewer = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=99, page_token=token)
    assert len(fewer["results"]) == 99 and fewer["nextPageToken"]
    backend.close()
