"""Listing over HTTP (bird_sandbox/listing.py): newest first, paged, the limits, and the listing
setting through the control API."""

from __future__ import annotations

import pytest
import requests
from sandbox_support import channel_url, send, text_message

from airflow_provider_sms.bird import facts
from bird_sandbox import (
    ACCESS_KEY,
    DEFAULT_LISTING,
    MMS_CHANNEL_ID,
    QUIET_HOURS_CHANNEL_ID,
    SMS_CHANNEL_ID,
    WORKSPACE_ID,
    BirdSandbox,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"


def ids(page: dict) -> list[str]:
    return [m["id"] for m in page["results"]]


def test_messages_are_listed_newest_first_and_tokens_survive_new_messages(sandbox, http):
    sent = [send(sandbox, http, text_message(text=f"message {n}")).json()["id"] for n in range(25)]
    assert send(sandbox, http, text_message(), channel_id=SMS_CHANNEL_ID).status_code == 202
    newest_first = sent[::-1]
    url = channel_url(sandbox, suffix="/messages")

    first = http.get(url).json()
    assert len(first["results"]) == facts.DEFAULT_LIST_LIMIT
    assert ids(first) == newest_first[:10]
    # Newer messages arrive between pages: the next page goes on where the first ended.
    newer = [send(sandbox, http, text_message(text=f"new {n}")).json()["id"] for n in range(5)]
    second = http.get(url, params={"pageToken": first["nextPageToken"]}).json()
    assert ids(second) == newest_first[10:20]
    third = http.get(url, params={"pageToken": second["nextPageToken"], "limit": 100}).json()
    assert ids(third) == newest_first[20:] and "nextPageToken" not in third

    assert ids(http.get(url, params={"limit": 5}).json()) == newer[::-1]
    everything = http.get(url, params={"limit": facts.MAX_LIST_LIMIT}).json()
    assert ids(everything) == (sent + newer)[::-1] and "nextPageToken" not in everything
    # Exactly a page's worth left: a full page names the next one, which is empty (a client
    # cannot tell a full last page without a token from a listing that names none).
    exact = http.get(url, params={"limit": 30}).json()
    assert len(exact["results"]) == 30 and exact["nextPageToken"]
    after = http.get(url, params={"limit": 30, "pageToken": exact["nextPageToken"]}).json()
    assert after == {"results": []}

    # A token from before a reset names positions that are gone.
    sandbox.reset()
    stale = http.get(url, params={"pageToken": first["nextPageToken"]})
    assert stale.status_code == 400 and stale.json()["code"] == "InvalidPageToken"


@pytest.mark.parametrize("limit", [0, facts.MAX_LIST_LIMIT + 1, "ten", ""])
def test_list_limit_outside_1_to_100_is_422(sandbox, http, limit):
    response = http.get(channel_url(sandbox, suffix="/messages"), params={"limit": limit})
    assert response.status_code == 422 and "limit" in response.json()["details"]


@pytest.mark.parametrize("limit", [0, facts.MAX_CHANNEL_LIST_LIMIT + 1, "ten", ""])
def test_channel_list_limit_outside_1_to_1000_is_422(sandbox, http, limit):
    channels = http.get(f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels?limit={limit}")
    assert channels.status_code == 422 and "limit" in channels.json()["details"]


CHANNEL_IDS = [MMS_CHANNEL_ID, SMS_CHANNEL_ID, QUIET_HOURS_CHANNEL_ID]


@pytest.mark.parametrize("limit", [facts.MAX_LIST_LIMIT + 1, facts.MAX_CHANNEL_LIST_LIMIT])
def test_channels_are_listed_up_to_birds_channel_limit(sandbox, http, limit):
    url = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels"
    channels = http.get(url, params={"limit": limit})
    assert channels.status_code == 200
    assert [c["id"] for c in channels.json()["results"]] == CHANNEL_IDS


def test_channels_are_listed_and_paged(sandbox, http):
    url = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels"
    first = http.get(url, params={"limit": 1}).json()
    second = http.get(url, params={"limit": 1, "pageToken": first["nextPageToken"]}).json()
    third = http.get(url, params={"limit": 1, "pageToken": second["nextPageToken"]}).json()
    pages = first["results"] + second["results"] + third["results"]
    assert [c["id"] for c in pages] == CHANNEL_IDS
    assert "nextPageToken" not in third


def test_listing_through_the_control_api_and_the_constructor():
    with BirdSandbox(listing={"order": "oldest_first"}) as sandbox:
        config = f"{sandbox.base_url}/_sandbox/config"
        assert requests.get(config, timeout=5).json()["listing"]["order"] == "oldest_first"
        answer = requests.post(config, json={"listing": {"batch_filter": False}}, timeout=5)
        assert answer.json()["listing"] == {
            **DEFAULT_LISTING,
            "order": "oldest_first",
            "batch_filter": False,
        }
        bad = requests.post(config, json={"listing": {"order": "sideways"}}, timeout=5)
        assert bad.status_code == 400
        sandbox.reset()
        assert sandbox.listing == {**DEFAULT_LISTING, "order": "oldest_first"}
