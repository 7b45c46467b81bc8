"""The provider as Airflow sees it without running anything: its info and cheap imports."""

import json
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema
import pytest

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


def test_the_mms_and_template_operators_load_only_when_used():
    code = (
        "import sys, airflow.sdk; import airflow_provider_sms.operators.sms as sms; "
        "ops = 'airflow_provider_sms.operators.'; "
        "loaded = lambda: sorted(m for m in ('mms', 'template') if ops + m in sys.modules); "
        "print(loaded()); sms.SendMmsOperator, sms.SendTemplateOperator; print(loaded())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-2:] == ["[]", "['mms', 'template']"]


def test_connection_type_matches_airflows_provider_schema():
    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    for conn in get_provider_info()["connection-types"]:
        jsonschema.validate(conn, schema["properties"]["connection-types"]["items"])
        for name, field in conn["conn-fields"].items():
            jsonschema.Draft202012Validator.check_schema(field["schema"])
            assert field["label"], name


def test_workspace_id_is_required_in_the_form_and_the_other_extras_are_optional():
    [conn] = get_provider_info()["connection-types"]
    fields = conn["conn-fields"]
    # No "null" in the type: Airflow's form marks the field with * and disables Save.
    assert fields["workspace_id"]["schema"] == {"type": "string", "minLength": 1}
    assert fields["workspace_id"]["description"].startswith("Required")
    for value in ("", None):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, fields["workspace_id"]["schema"])
    jsonschema.validate("3f6f7a1e-2b1c-4d5e-9f00-1a2b3c4d5e6f", fields["workspace_id"]["schema"])
    for name, field in fields.items():
        if name != "workspace_id":
            assert "null" in field["schema"]["type"], f"{name} must stay optional"
            assert field["description"].startswith("Optional"), name
            jsonschema.validate(None, field["schema"])


def test_the_redis_password_is_a_password_field_hidden_by_airflows_connection_responses():
    # Airflow's API shows a URL extra in clear: the password has an extra of its own, which
    # the form shows as a password and the API's own response model masks.
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionResponse
    from airflow.providers_manager import ProvidersManager

    widget = ProvidersManager().connection_form_widgets["extra__bird__rate_limit_redis_password"]
    assert widget.is_sensitive
    extra = {
        "workspace_id": "3f6f7a1e-2b1c-4d5e-9f00-1a2b3c4d5e6f",
        "rate_limit_redis_url": "redis://redis.internal:6379/3",
        "rate_limit_redis_password": "S3cretRedisPw",
    }
    response = ConnectionResponse.model_validate(
        {
            "conn_id": "bird_default",
            "conn_type": "bird",
            "description": None,
            "host": None,
            "login": None,
            "schema": None,
            "port": None,
            "password": "bird-key-0123456789",
            "extra": json.dumps(extra),
            "team_name": None,
        }
    ).model_dump_json()
    assert "S3cretRedisPw" not in response and "bird-key-0123456789" not in response
    assert json.loads(json.loads(response)["extra"])["rate_limit_redis_password"] == "***"
