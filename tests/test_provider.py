"""The provider as Airflow sees it: registration, connection form, cheap imports."""

import json
import subprocess
import sys

from airflow_provider_sms.get_provider_info import get_provider_info


def test_providers_list_and_hooks_show_the_provider(airflow_home):
    listed = airflow_home.airflow("providers", "list", "-o", "json").stdout
    assert "airflow-provider-sms" in listed
    hooks = airflow_home.airflow("providers", "hooks", "-o", "json").stdout
    entry = next(h for h in json.loads(hooks[hooks.index("[") :]) if h["connection_type"] == "bird")
    assert entry["class"] == "airflow_provider_sms.hooks.bird.BirdHook"
    assert entry["hook_name"] == "Bird"


def test_connection_form_hides_unused_fields_and_relabels_the_key():
    [conn] = get_provider_info()["connection-types"]
    behaviour = conn["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"port", "login", "schema"}
    assert behaviour["relabeling"]["password"] == "Access key"
    assert {"workspace_id", "channel_id"} <= set(conn["conn-fields"])


def test_operator_module_import_loads_no_http_or_phone_libraries():
    code = (
        "import sys, airflow.sdk; import airflow_provider_sms.operators.sms; "
        "print(sorted(m for m in ('requests', 'phonenumbers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_connection_test_reads_the_channel_and_sends_nothing(airflow_home, bird_sandbox):
    conn_var, conn_json = bird_sandbox.connection_env()
    out = airflow_home.airflow(
        "connections",
        "test",
        "bird_default",
        AIRFLOW__CORE__TEST_CONNECTION="Enabled",
        **{conn_var: conn_json},
    ).stdout
    assert "Connection success!" in out
    assert [r.method for r in bird_sandbox.requests] == ["GET"]
    assert not bird_sandbox.messages


def test_connection_test_with_a_wrong_key_fails_without_showing_it(bird_sandbox, monkeypatch):
    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    conn["password"] = "not-the-right-key-42"
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    ok, message = BirdHook().test_connection()
    assert not ok
    assert "401" in message and "not-the-right-key-42" not in message
