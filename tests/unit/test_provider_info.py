"""The provider as Airflow sees it without running anything: its info and cheap imports."""

import subprocess
import sys

from airflow_provider_sms.get_provider_info import get_provider_info


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
