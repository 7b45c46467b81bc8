"""The Bird connection form as Airflow's API server describes it to the UI, on every Airflow:
3.2+ reads the provider info's `conn-fields`, 3.0 and 3.1 the hook's
`get_connection_form_widgets` (made from the same fields)."""

import pytest

from airflow_provider_sms.compat import AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_2_PLUS
from airflow_provider_sms.get_provider_info import get_provider_info

[BIRD] = get_provider_info()["connection-types"]
FIELDS = BIRD["conn-fields"]


EXTRA_FIELDS = pytest.mark.needs_airflow("3.1", feature="providers' fields in the form")
# Airflow 2's form is the webserver's own: tests/unit/hooks/test_form_fields_fab.py.
pytestmark = pytest.mark.needs_airflow("3.0", feature="the API server's description of the form")


def form_of(connection_type: str):
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    [meta] = [m for m in HookMetaService.hook_meta_data() if m.connection_type == connection_type]
    return meta


@pytest.fixture(scope="module")
def bird_form():
    return form_of("bird")


def test_airflow_3_0_shows_no_providers_fields_in_its_form(bird_form):
    # Its API server builds them only with Flask AppBuilder, which 3.0 no longer installs: an
    # official provider's form lacks them as ours does (docs/compatibility.md says so).
    official = form_of("fs")  # the standard provider's FSHook (a dependency: always there)
    shown = [bool(f.extra_fields and f.standard_fields) for f in (bird_form, official)]
    assert shown == [AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_1_PLUS]


@EXTRA_FIELDS
def test_every_extra_field_has_its_label_description_and_type(bird_form):
    shown = {name: dict(field) for name, field in bird_form.extra_fields.items()}
    assert sorted(shown) == sorted(FIELDS)
    for name, field in FIELDS.items():
        schema = shown[name]["schema"]
        assert (schema["title"], shown[name]["description"]) == (
            field["label"],
            field["description"],
        ), name
        kinds = field["schema"]["type"]
        wanted = {"number": "string"}.get(kinds[0], kinds[0]) if isinstance(kinds, list) else kinds
        shown_kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        # Before 3.2 a number is typed as text (the form has no number field there).
        assert wanted in shown_kinds or (AIRFLOW_V_3_2_PLUS and kinds[0] in shown_kinds), name
    assert shown["rate_limit_redis_password"]["schema"].get("format") == "password"


@EXTRA_FIELDS
def test_the_standard_fields_are_relabelled_and_hidden_as_the_provider_info_says(bird_form):
    fields = bird_form.standard_fields
    behaviour = BIRD["ui-field-behaviour"]
    assert fields.password.title == behaviour["relabeling"]["password"]
    assert fields.host.placeholder == behaviour["placeholders"]["host"]
    assert all(getattr(fields, name).hidden for name in ("port", "login"))


@EXTRA_FIELDS
def test_the_workspace_id_is_required_where_airflow_can_say_so(bird_form):
    kinds = bird_form.extra_fields["workspace_id"]["schema"]["type"]
    # 3.0 and 3.1 make every extra field optional; the hook then names the missing field.
    assert ("null" not in kinds) == AIRFLOW_V_3_2_PLUS
