"""The route tables (sandbox/routes.py): every row names an operation that exists, paths match
as Bird's do, and a request is handed to its operation without HTTP."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_sms.sandbox import MMS_CHANNEL_ID, WORKSPACE_ID, routes
from airflow_provider_sms.sandbox.backend import ApiError, SandboxBackend
from airflow_provider_sms.sandbox.control import ControlApi
from airflow_provider_sms.sandbox.gateway import Gateway


@pytest.mark.parametrize(
    "table, target",
    [
        (routes.BIRD_ROUTES, SandboxBackend),
        (routes.STORAGE_ROUTES, SandboxBackend),
        (routes.CONTROL_ROUTES, ControlApi),
    ],
)
def test_every_route_names_an_operation_that_takes_its_placeholders(table, target):
    for route in table:
        operation = getattr(target, route.operation)
        taken = set(inspect.signature(operation).parameters)
        placeholders = {s[1:-1] for s in route.segments if s.startswith("{")}
        keywords = {routes.QUERY_PARAMETERS[q][0] for q in route.query}
        assert placeholders | keywords <= taken, route
        if table is routes.BIRD_ROUTES and route.body:
            assert "payload" in taken, route
        if table is routes.STORAGE_ROUTES and route.body:
            assert {"content_type", "body"} <= taken, route
        if route.origin:
            assert "base_url" in taken, route


def test_no_two_routes_share_a_method_and_a_pattern():
    for table in (routes.BIRD_ROUTES, routes.STORAGE_ROUTES, routes.CONTROL_ROUTES):
        rows = [(r.method, r.pattern) for r in table]
        assert len(rows) == len(set(rows))


def test_paths_find_their_route_or_a_405_or_nothing():
    path = routes.split(f"/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/messages/x/")
    route, bound = routes.find(routes.BIRD_ROUTES, "GET", path)
    assert route.operation == "get_message"
    assert bound == {"workspace_id": WORKSPACE_ID, "channel_id": MMS_CHANNEL_ID, "message_id": "x"}
    with pytest.raises(ApiError) as raised:
        routes.find(routes.BIRD_ROUTES, "DELETE", path)
    assert raised.value.status == 405
    assert routes.find(routes.BIRD_ROUTES, "GET", (*path, "more")) is None


def test_query_parameters_become_keywords():
    route = next(r for r in routes.BIRD_ROUTES if r.operation == "list_messages")
    query = {"limit": "5", "pageToken": "", "batchId": "b", "other": "ignored"}
    assert routes.arguments(route, {"channel_id": "c"}, query) == {
        "channel_id": "c",
        "limit": 5,
        "page_token": None,
        "batch_id": "b",
    }
    assert routes.arguments(route, {}, {"limit": "ten"}) == {"limit": "ten"}


def test_a_request_is_answered_by_its_backend_operation_without_http():
    backend = SandboxBackend()
    try:
        gateway = Gateway(backend)
        headers = {"Authorization": "AccessKey sandbox-access-key"}
        path = f"/workspaces/{WORKSPACE_ID}/channels"
        status, _, body = gateway.handle("GET", path, {"limit": "1"}, headers, b"")
        assert status == 200 and [c["id"] for c in body["results"]] == [MMS_CHANNEL_ID]
        status, _, body = gateway.handle("GET", "/_sandbox/health", {}, {}, b"")
        assert (status, body) == (200, {"status": "ok"})
        status, _, body = gateway.handle("PUT", "/_sandbox/health", {}, {}, b"")
        assert status == 404 and body["code"] == "NotFound"
    finally:
        backend.close()
