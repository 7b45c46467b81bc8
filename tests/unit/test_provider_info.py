"""The provider as Airflow sees it without running anything: its info and cheap imports."""

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema
import pytest

import airflow_provider_sms
from airflow_provider_sms.compat import (
    AIRFLOW_V_3_0_PLUS,
    AIRFLOW_V_3_1_PLUS,
    AIRFLOW_V_3_2_PLUS,
    AirflowOptionalProviderFeatureException,
)
from airflow_provider_sms.get_provider_info import get_provider_info


def test_connection_form_hides_unused_fields_and_relabels_the_key():
    [conn] = get_provider_info()["connection-types"]
    behaviour = conn["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"port", "login", "schema"}
    assert behaviour["relabeling"]["password"] == "Access key"
    assert {"workspace_id", "channel_id"} <= set(conn["conn-fields"])


# What Airflow's DAG files import first: the Task SDK, or on Airflow 2 its models.
AIRFLOW_BASES = "airflow.sdk" if AIRFLOW_V_3_0_PLUS else "airflow.models.baseoperator"


def loaded_by_the_sms_operator(*modules: str) -> list[str]:
    """Which of `modules` importing the SMS operator module loads, in a fresh interpreter
    (those Airflow loads itself do not count: 3.1's sqlalchemy_utils loads phonenumbers)."""
    code = (
        f"import json, sys, {AIRFLOW_BASES}; before = set(sys.modules); "
        "import airflow_provider_sms.operators.sms; "
        f"print(json.dumps(sorted(m for m in {modules!r} if m in set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_operator_module_import_loads_no_http_or_phone_libraries():
    assert loaded_by_the_sms_operator("requests", "phonenumbers") == []


def test_the_sms_operator_loads_neither_the_mms_nor_the_template_operator():
    operators = ("airflow_provider_sms.operators.mms", "airflow_provider_sms.operators.template")
    assert loaded_by_the_sms_operator(*operators) == []


ROOT = Path(__file__).resolve().parents[2]
IMPORTED = re.compile(r"^\s*from (airflow_provider_sms[\w.]*) import ([\w, ]+)$", re.M)


def _documented_classes() -> dict[str, set[str]]:
    """Class name -> the modules README.md, docs/ and example_dags/ import it from."""
    pages = [
        ROOT / "README.md",
        *(ROOT / "docs").rglob("*.md"),
        *(ROOT / "example_dags").glob("*.py"),
    ]
    found: dict[str, set[str]] = {}
    for page in pages:
        for module, names in IMPORTED.findall(page.read_text()):
            for name in (n.strip() for n in names.split(",")):
                if name[:1].isupper() and not name.isupper():
                    found.setdefault(name, set()).add(module)
    return found


def test_each_public_class_has_one_import_path_the_one_the_docs_show():
    documented = _documented_classes()
    assert {"SendSmsOperator", "SendMmsOperator", "SendTemplateOperator", "BirdHook"} <= set(
        documented
    )
    package = Path(airflow_provider_sms.__file__).parent
    modules = [
        "airflow_provider_sms." + ".".join(p.relative_to(package).with_suffix("").parts)
        for p in package.rglob("*.py")
        if p.name != "__init__.py"
    ]
    # Modules of features this Airflow lacks refuse to load, naming the version they need.
    refused = set()
    for module in modules:
        try:
            importlib.import_module(module)
        except AirflowOptionalProviderFeatureException:
            refused.add(module)
    approvals = {
        "airflow_provider_sms.operators.approval",
        "airflow_provider_sms.triggers.approval",
    }
    watchers = {"airflow_provider_sms.triggers.inbound"}
    assert refused == (set() if AIRFLOW_V_3_1_PLUS else approvals) | (
        set() if AIRFLOW_V_3_0_PLUS else watchers
    )
    modules = [m for m in modules if m not in refused]
    for name, paths in sorted(documented.items()):
        assert len(paths) == 1, f"{name} is imported from {sorted(paths)}"
        [path] = paths
        if path in refused:
            continue
        assert getattr(importlib.import_module(path), name).__module__ == path, name
        # Re-exported: listed in another module's __all__, or served by its __getattr__.
        exposing = [
            m
            for m in modules
            if m != path
            and (
                name in getattr(module := importlib.import_module(m), "__all__", ())
                or name in _lazily_served(module, name)
            )
        ]
        assert exposing == [], f"{name} can also be imported from {exposing}"


def _lazily_served(module, name: str) -> set[str]:
    lazy = vars(module).get("__getattr__")
    try:
        lazy and lazy(name)
    except AttributeError:
        return set()
    return {name} if lazy else set()


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


def connection_response(fields: dict) -> str:
    """What Airflow's REST API answers for a connection: its response model (Airflow 3) or
    its schema (Airflow 2's /api/v1)."""
    if not AIRFLOW_V_3_0_PLUS:
        from airflow.api_connexion.schemas.connection_schema import connection_schema
        from airflow.models.connection import Connection

        return json.dumps(connection_schema.dump(Connection(**fields)))
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionResponse

    return ConnectionResponse.model_validate({**fields, "team_name": None}).model_dump_json()


def test_the_redis_password_is_a_password_field_hidden_by_airflows_connection_responses():
    # Airflow's API shows a URL extra in clear: the password has an extra of its own, which
    # the form shows as a password and the API's own response model masks.
    from airflow.providers_manager import ProvidersManager

    if AIRFLOW_V_3_2_PLUS:
        # Before 3.2 the form's field is typed a password by the hook (test_form_fields.py).
        widgets = ProvidersManager().connection_form_widgets
        assert widgets["extra__bird__rate_limit_redis_password"].is_sensitive
    extra = {
        "workspace_id": "3f6f7a1e-2b1c-4d5e-9f00-1a2b3c4d5e6f",
        "rate_limit_redis_url": "redis://redis.internal:6379/3",
        "rate_limit_redis_password": "S3cretRedisPw",
    }
    response = connection_response(
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
        }
    )
    assert "S3cretRedisPw" not in response and "bird-key-0123456789" not in response
    assert json.loads(json.loads(response)["extra"])["rate_limit_redis_password"] == "***"
