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
