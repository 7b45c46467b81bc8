"""Client settings and helpers that need no server: URL rules, key hygiene, Retry-After."""

import email.utils
import time

import pytest

from airflow_provider_sms.bird.client import BirdClient, parse_retry_after
from airflow_provider_sms.bird.errors import BirdConfigurationError, InvalidMessageError
from airflow_provider_sms.bird.settings import ClientSettings
from bird_sandbox import MMS_CHANNEL_ID
from bird_sandbox import WORKSPACE_ID as WORKSPACE


@pytest.mark.parametrize(
    "host",
    ["http://api.bird.com", "http://10.0.0.5:8080", "http://example.org", "ftp://api.bird.com"],
)
def test_plain_http_refused_for_non_loopback_hosts(host):
    with pytest.raises(BirdConfigurationError) as e:
        ClientSettings(access_key="k" * 20, workspace_id=WORKSPACE, base_url=host)
    assert host in str(e.value)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (None, "https://api.bird.com"),
        ("", "https://api.bird.com"),
        ("api.bird.com", "https://api.bird.com"),
        ("https://api.bird.com/", "https://api.bird.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:9", "http://[::1]:9"),
    ],
)
def test_base_url_normalisation(host, expected):
    settings = ClientSettings(access_key="k", workspace_id=WORKSPACE, base_url=host)
    assert settings.base_url == expected


def test_settings_repr_hides_access_key():
    settings = ClientSettings(access_key="super-secret-key", workspace_id=WORKSPACE)
    assert "super-secret-key" not in repr(settings)


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < parse_retry_after(future) <= 30


@pytest.mark.parametrize(
    "workspace", ["", "my-workspace", "5d31ef73-de34-4006-a7ea-3b91aaa8ef9c/x"]
)
def test_workspace_id_must_be_a_uuid(workspace):
    with pytest.raises(BirdConfigurationError) as e:
        ClientSettings(access_key="k", workspace_id=workspace)
    assert "workspace_id" in str(e.value)


def test_a_netrc_entry_does_not_replace_the_access_key(tmp_path, monkeypatch):
    import requests

    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.bird.com login someone password other-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = BirdClient(ClientSettings(access_key="the-key-123", workspace_id=WORKSPACE))
    # Prepared only (nothing is sent): what would go to Bird, environment applied.
    prepared = client.session.prepare_request(requests.Request("POST", client.settings.base_url))
    assert prepared.headers["Authorization"] == "AccessKey the-key-123"
    assert "the-key-123" not in repr(client.session.auth)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_message(MMS_CHANNEL_ID, ".."),
        lambda c: c.get_message(MMS_CHANNEL_ID, "x/../../channels"),
        lambda c: c.send_message("..", {}),
        lambda c: c.get_channel("%2e%2e"),
        lambda c: c.send_batch(f"{MMS_CHANNEL_ID}/..", [{}]),
    ],
)
def test_ids_that_become_path_segments_must_be_uuids(call):
    # Checked before any request: this tier has no sockets, so a request would fail loudly.
    client = BirdClient(ClientSettings(access_key="k", workspace_id=WORKSPACE))
    with pytest.raises(InvalidMessageError) as e:
        call(client)
    assert e.value.field in ("channel_id", "message_id")
    assert "expected a UUID" in e.value.problem


def test_an_error_naming_a_numeric_host_shows_the_host_and_still_masks_numbers():
    from airflow_provider_sms.bird.errors import BirdConnectionError

    error = BirdConnectionError(
        "could not connect: the connection was refused; +31612345678",
        method="GET",
        path=f"https://2130706433:8443/workspaces/{WORKSPACE}/channels/31612345678",
    )
    text = str(error)
    assert f"GET https://2130706433:8443/workspaces/{WORKSPACE}/channels/" in text
    assert "31612345678" not in text
