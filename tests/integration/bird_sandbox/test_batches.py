"""The sandbox's batches over HTTP (bird_sandbox/batches.py): the 202, asynchronous validation,
listing by batch, the rate limit."""

from __future__ import annotations

import uuid

import pytest
from sandbox_support import channel_url, image_message, template_message, text_message

from bird_sandbox import (
    ACCESS_KEY,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"


def test_batch_accepts_then_rejects_asynchronously_and_lists_by_batch(sandbox, http):
    sandbox.reject_recipients = {"+15550000002"}
    items = [
        text_message(to="+15550000001"),
        text_message(to="+15550000002"),
        text_message(text="", to="+15550000003"),
        template_message(),
        image_message(),
    ]
    response = http.post(
        channel_url(sandbox, suffix="/batch/messages"), json={"messageRequests": items}
    )
    assert response.status_code == 202
    batch_id = response.json()["batchId"]
    uuid.UUID(batch_id)
    assert sandbox.wait_idle(5)

    url = channel_url(sandbox, suffix="/messages")
    first = http.get(url, params={"batchId": batch_id, "limit": 3}).json()
    assert len(first["results"]) == 3 and first["nextPageToken"]
    second = http.get(
        url, params={"batchId": batch_id, "limit": 3, "pageToken": first["nextPageToken"]}
    ).json()
    assert len(second["results"]) == 2 and not second.get("nextPageToken")

    # Listed newest first: reversed, the batch's items in the order they were sent.
    messages = (first["results"] + second["results"])[::-1]
    assert all(m["batchId"] == batch_id for m in messages)
    assert [m["receiver"]["contacts"][0]["identifierValue"] for m in messages] == [
        "+15550000001",
        "+15550000002",
        "+15550000003",
        TO,
        "+12025550199",
    ]
    assert [m["status"] for m in messages] == [
        "accepted",
        "rejected",
        "rejected",
        "accepted",
        "accepted",
    ]
    for rejected in (messages[1], messages[2]):
        failure = rejected["failure"]
        assert 11000 <= failure["code"] < 12000
        assert failure["source"]["name"] == "pre-processing" and failure["description"]
    assert messages[1]["failure"]["code"] != messages[2]["failure"]["code"]
    assert sandbox.posts_received("/batch/messages") == 1


@pytest.mark.parametrize("count", [0, 101])
def test_batch_size_outside_1_to_100_is_422(sandbox, http, count):
    response = http.post(
        channel_url(sandbox, suffix="/batch/messages"),
        json={"messageRequests": [text_message()] * count},
    )
    assert response.status_code == 422
    assert "messageRequests" in response.json()["details"]


def test_batch_counts_once_toward_rate_limit(sandbox, http):
    sandbox.max_posts_per_second = 1
    url = channel_url(sandbox, suffix="/batch/messages")
    assert http.post(url, json={"messageRequests": [text_message()] * 50}).status_code == 202
    assert http.post(url, json={"messageRequests": [text_message()]}).status_code == 429
    assert len(sandbox.messages) == 50


def test_list_limit_is_validated(sandbox, http):
    url = channel_url(sandbox, suffix="/messages")
    assert http.get(url, params={"limit": 101}).status_code == 422
    assert http.get(url, params={"pageToken": "garbage!"}).status_code == 400
    assert http.get(url).json() == {"results": []}
