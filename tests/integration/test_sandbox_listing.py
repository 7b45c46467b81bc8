"""The sandbox's listing variants (order, page-token field, batch filter): how Bird might list
messages where its documentation is silent, set by constructor, attribute, control API,
command line or SandboxProcess; defaults as Bird is inferred to behave."""

import subprocess
import sys

import pytest
import requests

from airflow_provider_sms.sandbox import (
    ACCESS_KEY,
    DEFAULT_LISTING,
    MMS_CHANNEL_ID,
    WORKSPACE_ID,
    BirdSandbox,
    SandboxBackend,
)
from airflow_provider_sms.sandbox.process import SandboxProcess

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
def backend():
    running = SandboxBackend(status_delays=None)
    running.add_history(MMS_CHANNEL_ID, [f"+3162000000{i}" for i in range(5)], age=60)
    running.add_history(MMS_CHANNEL_ID, ["+31620000009"], age=10, batch_id=BATCH)
    yield running
    running.close()


def test_defaults_list_newest_first_with_next_page_token_and_filter_by_batch(backend):
    assert backend.listing == dict(DEFAULT_LISTING)
    assert pages(backend) == [
        ["+31620000009", "+31620000004", "+31620000003"],
        ["+31620000002", "+31620000001", "+31620000000"],
    ]
    assert pages(backend, batch_id=BATCH) == [["+31620000009"]]


def test_oldest_first_another_token_field_and_an_ignored_batch_filter(backend):
    backend.listing = {"order": "oldest_first"}
    assert pages(backend) == [
        ["+31620000000", "+31620000001", "+31620000002"],
        ["+31620000003", "+31620000004", "+31620000009"],
    ]
    backend.listing = {"page_token_field": "next"}
    first = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=3)
    assert "nextPageToken" not in first and first["next"]
    assert backend.listing["order"] == "oldest_first", "keys not named are kept"
    backend.listing = {"page_token_field": None}
    first = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=3)
    assert set(first) == {"results"} and len(first["results"]) == 3
    backend.listing = {"batch_filter": False}
    listed = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, batch_id=BATCH)["results"]
    assert len(listed) == 6
    backend.reset()
    assert backend.listing == dict(DEFAULT_LISTING)


@pytest.mark.parametrize(
    "value",
    [{"order": "random"}, {"page_token_field": ""}, {"batch_filter": "no"}, {"sort": "asc"}, []],
)
def test_bad_listings_are_refused(backend, value):
    with pytest.raises(ValueError, match="listing"):
        backend.listing = value


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


def test_listing_from_the_command_line_and_sandbox_process():
    with SandboxProcess(listing={"page_token_field": None}) as sandbox:
        assert sandbox.control("GET", "config")["listing"]["page_token_field"] is None
        url = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/messages"
        listed = requests.get(url, headers={"Authorization": f"AccessKey {ACCESS_KEY}"}, timeout=5)
        assert listed.json() == {"results": []}
    for bad in ("oldest", '{"order": "sideways"}'):
        run = subprocess.run(
            [sys.executable, "-m", "airflow_provider_sms.sandbox", "--listing", bad],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 2, (bad, run.stderr)
