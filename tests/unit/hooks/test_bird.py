"""BirdHook turns an Airflow connection into client settings, and picks the channel."""

import json

import pytest
from airflow.providers.common.compat.sdk import AirflowNotFoundException

from airflow_provider_sms.bird.errors import BirdConfigurationError, InvalidMessageError
from airflow_provider_sms.compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_2_PLUS
from airflow_provider_sms.hooks.bird import BirdHook
from bird_sandbox import MMS_CHANNEL_ID, SMS_CHANNEL_ID, WORKSPACE_ID


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
        ({"host": "http://127.0.0.1:8025/v1"}, "is followed by a path (not shown)"),
        ({"host": "https://api.bird.com?a=1"}, "is followed by a query (not shown)"),
        ({"host": "https://api.bird.com#x"}, "is followed by a fragment (not shown)"),
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
    if AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_2_PLUS:
        # Airflow 3.0 and 3.1 refuse such a connection itself, before the hook reads it.
        with pytest.raises(AirflowNotFoundException, match="bird_list"):
            BirdHook("bird_list").settings  # noqa: B018
        return
    with pytest.raises(BirdConfigurationError, match="extra: must be a JSON object, got list"):
        BirdHook("bird_list").settings  # noqa: B018


def test_user_information_in_the_host_is_refused_and_never_shown(monkeypatch):
    use_connection(monkeypatch, "bird_userinfo", host="http://user:S3CRET-PW@api.example.com")
    with pytest.raises(BirdConfigurationError) as e:
        BirdHook("bird_userinfo").settings  # noqa: B018
    assert "must not contain user information" in str(e.value)
    assert "S3CRET-PW" not in str(e.value)


# -- the host as shown in errors, the port, the schema field, IPv6 (issue 20) -------------

KEY = "Acc3ss-K3y-never-shown"


def settings_error(monkeypatch, **fields) -> str:
    use_connection(monkeypatch, "bird_host", password=KEY, **fields)
    with pytest.raises(BirdConfigurationError) as e:
        BirdHook("bird_host").settings  # noqa: B018
    text = str(e.value)
    assert text.startswith("connection 'bird_host': ")
    assert KEY not in text
    return text


@pytest.mark.parametrize(
    ("host", "shown", "fragment"),
    [
        ("https://api.bird.com?token=S3CRET-Q", "'https://api.bird.com'", "query"),
        ("https://api.bird.com/?token=S3CRET-Q", "'https://api.bird.com'", "query"),
        ("https://api.bird.com#S3CRET-Q", "'https://api.bird.com'", "fragment"),
        ("https://api.bird.com/S3CRET-Q", "'https://api.bird.com'", "path"),
        ("api.bird.com?token=S3CRET-Q", "'https://api.bird.com'", "query"),
        ("ftp://api.bird.com?token=S3CRET-Q", "'ftp://api.bird.com'", "scheme 'ftp'"),
        ("http://api.example.com?token=S3CRET-Q", "'http://api.example.com'", "query"),
    ],
)
def test_a_host_with_a_query_path_or_fragment_is_shown_without_it(
    monkeypatch, host, shown, fragment
):
    text = settings_error(monkeypatch, host=host)
    assert "S3CRET-Q" not in text
    assert shown in text and fragment in text


@pytest.mark.parametrize("length", [5_000, 100_000])
def test_a_very_long_host_is_refused_and_not_echoed(monkeypatch, length):
    host = "https://" + "a" * length + ".example.com"
    text = settings_error(monkeypatch, host=host)
    assert "host: is " in text and "characters long" in text
    assert "a" * 100 not in text
    assert len(text) < 400


def test_a_host_name_longer_than_dns_allows_is_refused(monkeypatch):
    labels = ".".join(["a" * 63] * 4)  # 255 characters: over DNS's 253
    text = settings_error(monkeypatch, host=f"https://{labels}")
    assert "at most 253" in text and labels not in text
    longest = ".".join(["a" * 63] * 3 + ["a" * 61])  # exactly 253
    use_connection(monkeypatch, "bird_long", host=f"https://{longest}:8443")
    assert BirdHook("bird_long").settings.base_url == f"https://{longest}:8443"


@pytest.mark.parametrize(
    "fields",
    [
        {"host": "http://127.0.0.1:0"},
        {"host": "https://api.bird.com:0"},
        {"host": "https://api.bird.com:00"},
    ],
)
def test_port_zero_in_the_host_is_refused_naming_the_field(monkeypatch, fields):
    text = settings_error(monkeypatch, **fields)
    assert "host: port 0" in text and "1-65535" in text


def test_port_zero_in_a_uri_connection_is_refused_naming_the_field(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_BIRD_PORT0", f"bird://:{KEY}@127.0.0.1:0/?workspace_id={WORKSPACE_ID}"
    )
    with pytest.raises(BirdConfigurationError) as e:
        BirdHook("bird_port0").settings  # noqa: B018
    assert "port: 0 is not a port number (1-65535)" in str(e.value)
    assert KEY not in str(e.value)


def test_the_schema_field_gives_the_scheme_of_a_host_without_one(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_BIRD_SCHEMA",
        f"bird://:{KEY}@127.0.0.1:8025/http?workspace_id={WORKSPACE_ID}",
    )
    assert BirdHook("bird_schema").settings.base_url == "http://127.0.0.1:8025"
    use_connection(monkeypatch, "bird_https", host="api.example.com", schema="HTTPS")
    assert BirdHook("bird_https").settings.base_url == "https://api.example.com"
    # The same scheme twice is no conflict.
    use_connection(monkeypatch, "bird_twice", host="http://localhost:8025", schema="http")
    assert BirdHook("bird_twice").settings.base_url == "http://localhost:8025"


@pytest.mark.parametrize(
    ("fields", "fragments"),
    [
        (
            {"host": "https://127.0.0.1:8025", "schema": "http"},
            ["schema: 'http' conflicts with the scheme of host 'https://127.0.0.1:8025'"],
        ),
        ({"host": "127.0.0.1", "schema": "ftp"}, ["schema: 'ftp' is not http or https"]),
        # http only for loopback hosts, however the scheme is given.
        ({"host": "api.example.com", "schema": "http"}, ["'http://api.example.com'", "plain"]),
    ],
)
def test_a_schema_that_cannot_work_is_refused(monkeypatch, fields, fragments):
    text = settings_error(monkeypatch, **fields)
    for fragment in fragments:
        assert fragment in text


def test_an_ipv6_loopback_host_through_the_schema_field_or_json(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_BIRD_V6", f"bird://:{KEY}@[::1]:8025/http?workspace_id={WORKSPACE_ID}"
    )
    assert BirdHook("bird_v6").settings.base_url == "http://[::1]:8025"
    use_connection(monkeypatch, "bird_v6json", host="http://[::1]:8025")
    assert BirdHook("bird_v6json").settings.base_url == "http://[::1]:8025"
    use_connection(monkeypatch, "bird_v6port", host="::1", port=8025, schema="http")
    assert BirdHook("bird_v6port").settings.base_url == "http://[::1]:8025"


def test_the_host_with_protocol_uri_form_of_an_ipv6_host_says_what_works(monkeypatch):
    # Airflow reads bird://http://:KEY@[::1]:8025/ as host 'http://::1' (brackets lost).
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_V6PROTO", f"bird://http://:{KEY}@[::1]:8025/")
    with pytest.raises(BirdConfigurationError) as e:
        BirdHook("bird_v6proto").settings  # noqa: B018
    text = str(e.value)
    assert "'http://::1'" in text and "in brackets" in text
    assert "bird://:KEY@[::1]:PORT/http" in text
    assert KEY not in text


@pytest.mark.parametrize(
    "host", ["http://2130706433", "http://0612345678", "http://31612345678:8025"]
)
def test_a_numeric_host_is_shown_as_written_not_masked_as_a_phone_number(monkeypatch, host):
    text = settings_error(monkeypatch, host=host)
    assert f"'{host}'" in text and "*" not in text


@pytest.mark.parametrize(
    "fields",
    [
        {"host": f"https://api.bird.com?key={KEY}"},
        {"host": f"https://{KEY}.example.com"},
        {"host": "127.0.0.1", "schema": KEY},
    ],
)
def test_the_access_key_pasted_into_another_field_is_never_shown(monkeypatch, fields):
    text = settings_error(monkeypatch, **fields)
    assert "contains the access key (not shown)" in text
