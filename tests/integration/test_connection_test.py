"""BirdHook against the sandbox: the connection test."""

import json


def test_connection_test_with_a_wrong_key_fails_without_showing_it(bird_sandbox, monkeypatch):
    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    conn["password"] = "not-the-right-key-42"
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    ok, message = BirdHook().test_connection()
    assert not ok
    assert "401" in message and "not-the-right-key-42" not in message
