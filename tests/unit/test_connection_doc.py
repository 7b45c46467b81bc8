"""Every connection example in docs/connection.md becomes the settings the page says."""

import pytest
from support import connection_doc_examples

from airflow_provider_sms.hooks.bird import BirdHook

EXPECTED = {
    "AIRFLOW_CONN_BIRD_DEFAULT": "https://api.bird.com",
    "AIRFLOW_CONN_BIRD_SANDBOX_JSON": "http://127.0.0.1:8025",
    "AIRFLOW_CONN_BIRD_SANDBOX_V6_JSON": "http://[::1]:8025",
    "AIRFLOW_CONN_BIRD_URI": "https://api.bird.com",
    "AIRFLOW_CONN_BIRD_SANDBOX": "http://127.0.0.1:8025",
    "AIRFLOW_CONN_BIRD_SANDBOX_V6": "http://[::1]:8025",
    "AIRFLOW_CONN_BIRD_SANDBOX_PROTOCOL": "http://127.0.0.1:8025",
}


def test_the_page_shows_exactly_these_examples():
    assert set(connection_doc_examples()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_becomes_the_settings_described(monkeypatch, name):
    monkeypatch.setenv(name, connection_doc_examples()[name])
    settings = BirdHook(name.removeprefix("AIRFLOW_CONN_").lower()).settings
    assert settings.base_url == EXPECTED[name]
    assert settings.workspace_id == "5d31ef73-de34-4006-a7ea-3b91aaa8ef9c"


def test_the_ipv6_host_with_protocol_form_is_refused_as_the_page_says(monkeypatch):
    from airflow_provider_sms.bird.errors import BirdConfigurationError

    monkeypatch.setenv("AIRFLOW_CONN_BIRD_V6_PROTOCOL", "bird://http://:k3y@[::1]:8025/")
    with pytest.raises(BirdConfigurationError, match=r"host: 'http://::1' holds an IPv6"):
        BirdHook("bird_v6_protocol").settings  # noqa: B018
