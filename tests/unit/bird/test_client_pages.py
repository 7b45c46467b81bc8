"""The client's one pager, over canned answers: what each of its readers takes for the end of a
listing, and what for "cannot tell"."""

import pytest

from airflow_provider_sms.bird.client import NEXT_PAGE_FIELD, BirdClient
from airflow_provider_sms.bird.errors import BirdListingUnclearError
from airflow_provider_sms.bird.settings import ClientSettings

WORKSPACE = "2bd6b8a4-0c5b-4c8e-9a43-6f3cb1c1d5e7"
CHANNEL = "5f0e3c2a-8a4e-4d8e-b2a5-0c9d1e7f6a31"
MESSAGE = "9c1b7e54-3d2f-4a6b-8e0c-1f2a3b4c5d6e"


def answering(*answers):
    """A client whose GETs get `answers` in turn; the params of each in ``client.asked``."""
    client = BirdClient(ClientSettings(access_key="key-123", workspace_id=WORKSPACE))
    left = list(answers)
    client.asked = []

    def request(method, path, *, params=None, cancel=None, **_):
        client.asked.append(dict(params or {}))
        return left.pop(0)

    client.request = request
    return client


def page(count, token=None):
    answer = {"results": [{"id": f"m{i}"} for i in range(count)]}
    return answer if token is None else {**answer, NEXT_PAGE_FIELD: token}


def listing(client, **knobs):
    return [len(p) for p in client.pages(client.messages_path(CHANNEL), **knobs)]


def test_pages_follow_the_next_page_token_to_a_short_last_page():
    client = answering(page(100, "t1"), page(100, "t2"), page(3))
    assert listing(client, filters={"batchId": "b"}) == [100, 100, 3]
    assert client.asked == [
        {"limit": 100, "batchId": "b"},
        {"limit": 100, "batchId": "b", "pageToken": "t1"},
        {"limit": 100, "batchId": "b", "pageToken": "t2"},
    ]


def test_strictly_a_full_last_page_is_the_end_only_once_the_token_field_is_known():
    assert listing(answering(page(100, "t1"), page(100))) == [100, 100]
    client = answering(page(100), page(99, "t9"))
    assert listing(client) == [100]
    assert client.asked[1] == {"limit": 99}
    with pytest.raises(BirdListingUnclearError, match="named no next page"):
        listing(answering(page(100), page(99)))


@pytest.mark.parametrize("answer", [{"items": []}, [], {"results": [1]}, {"results": None}])
def test_strictly_an_answer_without_a_results_list_is_unclear(answer):
    with pytest.raises(BirdListingUnclearError, match="no `results` list of messages"):
        listing(answering(answer))


def test_strictly_more_pages_than_allowed_is_unclear():
    client = answering(page(100, "t1"), page(100, "t2"))
    with pytest.raises(BirdListingUnclearError, match="more than 2 pages of 100 messages"):
        listing(client, max_pages=2)
    assert len(client.asked) == 2


def test_leniently_a_missing_results_list_is_an_empty_page_and_a_full_page_the_end():
    # The status wait: a batch not listed yet is pending, never an error that ends the wait.
    lenient = {"full_page": "end", "results": "empty"}
    assert listing(answering({"items": []}), **lenient) == [0]
    assert listing(answering({"results": None}), **lenient) == [0]
    client = answering(page(100, "t1"), page(100))
    assert listing(client, **lenient) == [100, 100]
    assert len(client.asked) == 2


def test_interactions_are_listed_at_birds_page_size_within_their_page_bound():
    client = answering(page(10, "t1"), page(10))
    path = client.interactions_path(CHANNEL, MESSAGE)
    assert [len(p) for p in client.pages(path, limit=None, full_page="end")] == [10, 10]
    assert client.asked == [{}, {"pageToken": "t1"}]
    client = answering(page(10, "t1"), page(10, "t2"))
    with pytest.raises(BirdListingUnclearError, match="more than 2 pages of interactions"):
        list(client.pages(path, limit=None, full_page="end", max_pages=2))
    with pytest.raises(ValueError, match="limit"):
        list(client.pages(path, limit=None))
