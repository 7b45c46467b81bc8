"""The route tables (bird_sandbox/routes.py): every row names an operation that exists, paths match
as Bird's do, and a request is handed to its operation without HTTP."""

from __future__ import annotations

import inspect

import pytest

from bird_sandbox import MMS_CHANNEL_ID, WORKSPACE_ID, routes
from bird_sandbox.backend import ApiError, SandboxBackend
from bird_sandbox.control import ControlApi
from bird_sandbox.gateway import Gateway


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


@pytest.mark.parametrize(
    ("address", "answered", "refused"),
    [
        ("127.0.0.1", ["127.0.0.1:8025", "LOCALHOST:8025", "[::1]:8025"], ["127.0.0.2:8025"]),
        ("::1", ["[::1]:8025", "localhost:8025"], ["[::2]:8025", "::1:8025"]),
        ("127.0.0.2", ["127.0.0.2:8025", "127.0.0.1:8025"], ["127.0.0.3:8025"]),
        # Deliberately shared (allow_non_loopback): its own address, or any IP on the unspecified
        # one; never another name.
        ("192.0.2.7", ["192.0.2.7:8025"], ["192.0.2.8:8025", "sandbox.lan:8025"]),
        ("0.0.0.0", ["192.0.2.8:8025", "[2001:db8::1]:8025"], ["sandbox.lan:8025"]),
        # Bound by a name given: that name too.
        (("192.0.2.7", "Sandbox.LAN"), ["sandbox.lan:8025"], ["other.lan:8025"]),
    ],
)
def test_the_hosts_a_gateway_answers(address, answered, refused):
    backend = SandboxBackend()
    try:
        gateway = Gateway(backend)
        assert gateway.refuse_host("127.0.0.1:8025") is not None  # nothing before listen_at
        address, name = address if isinstance(address, tuple) else (address, "")
        gateway.listen_at(address, 8025, name=name)
        for host in answered:
            assert gateway.refuse_host(host) is None, host
        for host in [*refused, "rebound.example:8025", "127.0.0.1:8026", "127.0.0.1", "", None]:
            status, _, body = gateway.refuse_host(host)
            assert status == 400 and "127.0.0.1:8025" in body["message"], host
    finally:
        backend.close()


def test_a_gateway_on_port_80_answers_a_host_without_a_port():
    backend = SandboxBackend()
    try:
        gateway = Gateway(backend)
        gateway.listen_at("127.0.0.1", 80)
        assert gateway.refuse_host("localhost") is None
        assert gateway.refuse_host("localhost:80") is None
        assert gateway.refuse_host("rebound.example") is not None
    finally:
        backend.close()
