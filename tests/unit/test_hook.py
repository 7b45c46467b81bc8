"""BirdHook turns an Airflow connection into client settings, and picks the channel."""

import json

import pytest

from airflow_provider_sms.bird.errors import BirdConfigurationError, InvalidMessageError
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.sandbox import MMS_CHANNEL_ID, SMS_CHANNEL_ID, WORKSPACE_ID


def use_connection(monkeypatch, conn_id="bird_default", **fields):
    conn = {"conn_type": "bird", "password": "key-123", "extra": {"workspace_id": WORKSPACE_ID}}
    extra = fields.pop("extra", {})
    conn.update(fields)
    conn["extra"] = {**conn["extra"], **extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def test_a_full_connection_becomes_client_settings(monkeypatch):
    use_connection(
        monkeypatch,
        "bird_eu",
        host="http://127.0.0.1:8025/",
        password="key-123\n",
        extra={
            "workspace_id": f" {WORKSPACE_ID} ",
            "channel_id": f" {SMS_CHANNEL_ID} ",
            "max_requests_per_second": "250",
            "timeout": 7,
            "max_retries": "0",
            "retry_backoff": 0.25,
        },
    )
    settings = BirdHook("bird_eu").settings
    assert settings.access_key == "key-123"
    assert settings.workspace_id == WORKSPACE_ID
    assert settings.base_url == "http://127.0.0.1:8025"
    assert settings.channel_id == SMS_CHANNEL_ID
    assert settings.max_requests_per_second == 250.0
    assert settings.read_timeout == 7.0
    assert settings.max_retries == 0
    assert settings.backoff_base == 0.25


def test_a_minimal_connection_gets_bird_defaults(monkeypatch):
    use_connection(monkeypatch)
    settings = BirdHook().settings
    assert settings.base_url == "https://api.bird.com"
    assert settings.channel_id is None
    assert settings.max_requests_per_second == 500
    assert settings.max_retries == 5


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"extra": {"workspace_id": ""}}, "extra.workspace_id: is required"),
        ({"extra": {"workspace_id": "ws-1"}}, "extra.workspace_id: 'ws-1' is not a UUID"),
        ({"password": ""}, "password: the access key is empty"),
        ({"extra": {"timeout": "soon"}}, "extra.timeout: must be a number, got 'soon'"),
        ({"extra": {"max_requests_per_second": 0}}, "extra.max_requests_per_second: must be"),
        ({"extra": {"max_retries": -1}}, "extra.max_retries: must be at least 0"),
        ({"host": "http://api.bird.com"}, "plain http://"),
    ],
)
def test_unusable_connections_name_the_connection_and_the_field(monkeypatch, fields, fragment):
    use_connection(monkeypatch, "bird_bad", **fields)
    with pytest.raises(BirdConfigurationError) as e:
        BirdHook("bird_bad").settings  # noqa: B018
    assert str(e.value).startswith("connection 'bird_bad': ")
    assert fragment in str(e.value)
    assert "key-123" not in str(e.value)


def test_the_channel_given_wins_over_the_connection_default(monkeypatch):
    use_connection(monkeypatch, extra={"channel_id": SMS_CHANNEL_ID})
    hook = BirdHook()
    assert hook.channel_id() == SMS_CHANNEL_ID
    assert hook.channel_id(f" {MMS_CHANNEL_ID} ") == MMS_CHANNEL_ID
    with pytest.raises(InvalidMessageError) as e:
        hook.channel_id("sms-channel")
    assert e.value.field == "channel_id"


def test_no_channel_at_all_is_an_error_naming_the_connection(monkeypatch):
    use_connection(monkeypatch, "bird_nochannel")
    with pytest.raises(InvalidMessageError) as e:
        BirdHook("bird_nochannel").channel_id(None)
    assert e.value.field == "channel_id"
    assert "'bird_nochannel' has no default channel_id" in e.value.problem


def test_unit_tests_cannot_open_sockets():
    import socket

    with pytest.raises(AssertionError, match="network connection"):
        socket.create_connection(("127.0.0.1", 9))


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, True), (False, False), ("false", False), ("true", True)]
)
def test_sharing_the_rate_limit_on_the_host_is_on_unless_turned_off(monkeypatch, raw, expected):
    use_connection(monkeypatch, extra={"share_rate_limit_on_host": raw})
    assert BirdHook().settings.share_rate_limit_on_host is expected


def test_a_flag_that_is_not_a_boolean_is_an_error(monkeypatch):
    use_connection(monkeypatch, extra={"share_rate_limit_on_host": "sometimes"})
    with pytest.raises(BirdConfigurationError, match="share_rate_limit_on_host: must be true"):
        BirdHook().settings  # noqa: B018


def test_a_uri_connection_keeps_its_port_and_a_bare_host_gets_https(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_BIRD_URI", f"bird://:key-123@localhost:8025/?workspace_id={WORKSPACE_ID}"
    )
    assert BirdHook("bird_uri").settings.base_url == "https://localhost:8025"
    use_connection(monkeypatch, "bird_bare", host="api.example.com", port=8443)
    assert BirdHook("bird_bare").settings.base_url == "https://api.example.com:8443"
    use_connection(monkeypatch, "bird_http", host="http://127.0.0.1", port=8025)
    assert BirdHook("bird_http").settings.base_url == "http://127.0.0.1:8025"


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"extra": {"workspace_id": 42}}, "extra.workspace_id: must be a string (a UUID), got int"),
        ({"extra": {"channel_id": ["a"]}}, "extra.channel_id: must be a string (a UUID), got list"),
        ({"host": "http://[::1"}, "host: is not a valid URL"),
        ({"extra": {"timeout": "nan"}}, "extra.timeout: must be a number, got 'nan'"),
        ({"extra": {"timeout": float("inf")}}, "extra.timeout: must be a number"),
        ({"extra": {"max_retries": 1.9}}, "extra.max_retries: must be a whole number, got 1.9"),
        ({"extra": {"max_retries": True}}, "extra.max_retries: must be a whole number, got True"),
        ({"extra": {"max_retries": 1e9}}, "extra.max_retries: must be at least 0 and at most 20"),
        ({"extra": {"max_requests_per_second": "nan"}}, "extra.max_requests_per_second: must be"),
        ({"extra": {"retry_backoff": "inf"}}, "extra.retry_backoff: must be a number"),
        ({"host": "http://127.0.0.1:8025/v1"}, "has a path, query or fragment"),
        ({"host": "https://api.bird.com?a=1"}, "has a path, query or fragment"),
        ({"host": "https://api.bird.com#x"}, "has a path, query or fragment"),
        # Judged loopback by a lenient parser, while requests would connect to 192.0.2.2.
        ({"host": "http://192.0.2.2:P\\@127.0.0.1:1"}, "backslashes"),
        ({"host": "https://api.bird.com", "port": 70000}, "port: 70000 is not a port number"),
    ],
)
def test_connection_fields_of_the_wrong_kind_are_named(monkeypatch, fields, fragment):
    use_connection(monkeypatch, "bird_odd", **fields)
    with pytest.raises(BirdConfigurationError) as e:
        BirdHook("bird_odd").settings  # noqa: B018
    assert fragment in str(e.value)
    assert "(nothing was sent)" in str(e.value)


def test_an_extra_that_is_not_an_object_is_named(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_BIRD_LIST",
        json.dumps({"conn_type": "bird", "password": "k", "extra": json.dumps(["a"])}),
    )
    with pytest.raises(BirdConfigurationError, match="extra: must be a JSON object, got list"):
        BirdHook("bird_list").settings  # noqa: B018


def test_user_information_in_the_host_is_refused_and_never_shown(monkeypatch):
    use_connection(monkeypatch, "bird_userinfo", host="http://user:S3CRET-PW@api.example.com")
    with pytest.raises(BirdConfigurationError) as e:
        BirdHook("bird_userinfo").settings  # noqa: B018
    assert "must not contain user information" in str(e.value)
    assert "S3CRET-PW" not in str(e.value)
