"""Reconciliation where Bird's documentation is silent (the listing's order, the field naming
its next page, the batch filter): found, or "cannot tell", never a wrong "not sent"."""

import json
import re
import time
from collections import Counter

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from support import LISTINGS, MemoryStore, numbers, receiver
from test_delivery import context_with, killed_first_try

from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.errors import BirdListingUnclearError
from airflow_provider_sms.bird.reconcile import find_sent
from airflow_provider_sms.operators.sms import SendSmsOperator

HOUR = 3600.0
# How each listing ends when the channel holds more than a page: decided, or cannot tell.
DECIDES = {
    "newest_first": True,
    "oldest_first": True,
    "other_token_field": False,
    "no_token": False,
    "full_last_page_no_token": True,
    "batch_filter_ignored": True,
}


def posts_to(sandbox) -> Counter:
    return Counter(receiver(r.json) for r in sandbox.requests if r.method == "POST" and r.json)


@pytest.mark.parametrize("listing", list(LISTINGS))
def test_a_killed_try_behind_older_messages_is_found_or_left_unknown(
    checked_sandbox, listing, capsys
):
    checked_sandbox.listing = LISTINGS[listing]
    checked_sandbox.backend.add_history(
        checked_sandbox.mms_channel_id, numbers(1500, start=70000000), age=HOUR
    )
    recipients = numbers(200)
    op, store = killed_first_try(checked_sandbox, recipients)
    first = {receiver(m): m["id"] for m in checked_sandbox.messages if m["reference"] != "history"}
    assert 0 < len(first) < 100
    if DECIDES[listing]:
        results = op.execute(context_with(store, try_number=2))
        already = {r["recipient"]: r["message_id"] for r in results}
        assert {r: already[r] for r in first} == first
    else:
        with pytest.raises(AirflowFailException) as e:
            op.execute(context_with(store, try_number=2))
        # Those on the first page are found; for the rest the listing cannot tell.
        found = re.search(r"(\d+) of \1 SMS\(s\) accepted", str(e.value))
        assert found and int(found.group(1)) <= len(first)
        assert f"{200 - int(found.group(1))} recipient(s) were in flight" in str(e.value)
        assert ": unknown" in str(e.value)
        assert "named no next page" in str(e.value)
    sent = Counter(receiver(m) for m in checked_sandbox.messages if m["reference"] != "history")
    assert max(sent.values()) == 1, "sent twice"
    pages = [
        int(n)
        for n in re.findall(
            r"(\d+) page\(s\) of the channel's messages read", capsys.readouterr().out
        )
    ]
    assert pages
    if listing == "newest_first":
        # Two lookups (one more after the settle time), each back to the window only.
        assert pages[0] <= 6, "a listing seen newest first is read back to the window only"
    if listing == "oldest_first":
        assert pages[0] >= 17, "a listing oldest first is read to its end"


def client_for(sandbox):
    from airflow_provider_sms.bird.settings import ClientSettings

    return BirdClient(
        ClientSettings(
            access_key=sandbox.access_key,
            workspace_id=sandbox.workspace_id,
            base_url=sandbox.base_url,
            channel_id=sandbox.mms_channel_id,
        )
    )


def sent_one(sandbox, recipient, reference):
    with client_for(sandbox) as client:
        return client.send_message(
            sandbox.mms_channel_id,
            {
                "receiver": {"contacts": [{"identifierValue": recipient}]},
                "body": {"type": "text", "text": {"text": "x"}},
                "reference": reference,
            },
        )


def test_a_message_from_before_the_window_is_not_taken_for_this_runs(checked_sandbox):
    # A task cleared and run again uses the same references: an hour-old match is the
    # earlier run's, whichever way the listing goes.
    checked_sandbox.listing = {"order": "oldest_first"}
    checked_sandbox.backend.add_history(
        checked_sandbox.mms_channel_id, ["+31620000001"], age=HOUR, reference="ref-1"
    )
    with client_for(checked_sandbox) as client:
        lookup = find_sent(
            client, checked_sandbox.mms_channel_id, {"ref-1": "+31620000001"}, time.time()
        )
    assert lookup.found == {} and lookup.unknown(["+31620000001"]) == {}


def test_an_answer_without_results_or_a_page_bound_means_cannot_tell(checked_sandbox):
    channel = checked_sandbox.mms_channel_id
    sent_one(checked_sandbox, "+31620000002", "ref-2")
    expected = {"ref-x": "+31620000003"}
    with client_for(checked_sandbox) as client:
        checked_sandbox.inject("body", method="GET", body='{"items": []}')
        lookup = find_sent(client, channel, expected, time.time())
        assert "no `results`" in lookup.unknown(["+31620000003"])["+31620000003"]
        checked_sandbox.backend.add_history(channel, numbers(250, start=71000000), age=60)
        checked_sandbox.listing = {"order": "oldest_first"}
        lookup = find_sent(client, channel, expected, time.time(), max_pages=2)
        assert lookup.pages == 2 and "more than 2 pages" in lookup.unclear
        with pytest.raises(BirdListingUnclearError):
            list(client.pages(client.messages_path(channel), max_pages=2))


# A listing of a whole number of pages, each way Bird may name (or not name) its pages: the
# setting, whether the client reads it to its end (else "cannot tell"), and the GETs that
# costs for n messages.
BOUNDARY_LISTINGS = {
    # An empty page follows the full last one.
    "token_after_a_full_last_page": ({}, True, lambda n: n // 100 + 1),
    # A lone full page is asked for again with a limit of 99, which names a next page.
    "no_token_after_a_full_last_page": (
        {"full_last_page_token": False},
        True,
        lambda n: n // 100 + (n == 100),
    ),
    "oldest_first_no_token_after_it": (
        {"order": "oldest_first", "full_last_page_token": False},
        True,
        lambda n: n // 100 + (n == 100),
    ),
    # The first page, then the same with a limit of 99: neither names a next page.
    "other_token_field": (
        {"page_token_field": "next", "full_last_page_token": False},
        False,
        lambda n: 2,
    ),
    "other_token_field_after_it_too": ({"page_token_field": "next"}, False, lambda n: 2),
    "no_token": ({"page_token_field": None}, False, lambda n: 2),
}


@pytest.mark.parametrize("count", [100, 300])
@pytest.mark.parametrize("listing", list(BOUNDARY_LISTINGS))
def test_a_listing_that_ends_on_a_page_boundary_is_read_to_its_end_or_unclear(
    checked_sandbox, listing, count
):
    setting, ends, gets = BOUNDARY_LISTINGS[listing]
    channel = checked_sandbox.mms_channel_id
    checked_sandbox.backend.add_history(channel, numbers(count, start=72000000), age=60)
    checked_sandbox.listing = setting
    absent = {"ref-absent": "+31620000005"}
    with client_for(checked_sandbox) as client:
        lookup = find_sent(client, channel, absent, time.time() - HOUR)
        listed = [r for r in checked_sandbox.requests if r.method == "GET"]
        assert len(listed) == gets(count)
        assert {r.query.get("limit") for r in listed} <= {"100", "99"}
        if ends:
            assert lookup.unclear is None and lookup.unknown(list(absent.values())) == {}
            pages = list(client.pages(client.messages_path(channel), max_pages=count // 100 + 1))
            assert sum(map(len, pages)) == count
        else:
            assert "named no next page" in lookup.unclear
            with pytest.raises(BirdListingUnclearError, match="named no next page"):
                list(client.pages(client.messages_path(channel), max_pages=count // 100 + 1))


def test_a_match_without_a_readable_time_is_unknown_not_found_nor_missing(checked_sandbox):
    channel = checked_sandbox.mms_channel_id
    message = sent_one(checked_sandbox, "+31620000004", "ref-4")
    listed = {"results": [{**message, "createdAt": "yesterday"}]}
    checked_sandbox.inject("body", method="GET", body=json.dumps(listed))
    with client_for(checked_sandbox) as client:
        lookup = find_sent(client, channel, {"ref-4": "+31620000004"}, time.time())
    assert lookup.found == {}
    assert "no readable createdAt" in lookup.unknown(["+31620000004"])["+31620000004"]


def test_a_batch_check_counts_only_messages_of_the_batch_asked_for(checked_sandbox):
    # Bird ignores the batch filter and lists the whole channel, which holds a delivered
    # message to the recipient whose item this batch rejects: it stays rejected, and a
    # retry sends it.
    checked_sandbox.status_delays = None
    checked_sandbox.listing = {"batch_filter": False}
    recipients = numbers(5)
    checked_sandbox.backend.add_history(
        checked_sandbox.mms_channel_id,
        recipients,
        age=HOUR,
        batch_id="0c6f3f5e-0000-4000-8000-000000000001",
    )
    checked_sandbox.reject_recipients = {recipients[2]}
    store = MemoryStore()
    op = SendSmsOperator(
        task_id="t", recipients=recipients, text="x", use_batch_api=True, check_batch_results=True
    )
    with pytest.raises(AirflowFailException) as e:
        op.execute(context_with(store))
    assert "4 of 5 SMS(s) accepted, 1 failed" in str(e.value)
    checked_sandbox.reject_recipients = set()
    results = op.execute(context_with(store, try_number=2))
    statuses = {r["recipient"]: r["status"] for r in results}
    assert statuses[recipients[2]] == "accepted"
    batches = {m.get("batchId") for m in checked_sandbox.messages if m["reference"] != "history"}
    ids = {r["recipient"]: r["message_id"] for r in results}
    mine = {m["id"] for m in checked_sandbox.messages if m.get("batchId") in batches}
    assert set(ids.values()) <= mine, "a recipient was counted sent by another batch's message"


def test_a_batch_answer_without_a_batch_id_cannot_be_checked(checked_sandbox):
    checked_sandbox.inject("body", method="POST", body='{"id": "not-a-batch-id"}')
    op = SendSmsOperator(
        task_id="t", recipients=numbers(3), text="x", use_batch_api=True, check_batch_results=True
    )
    with pytest.raises(AirflowFailException) as e:
        op.execute(context_with(MemoryStore()))
    assert "named no batch id" in str(e.value)
    assert "cannot be told" in str(e.value)
