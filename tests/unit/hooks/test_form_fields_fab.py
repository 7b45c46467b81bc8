"""The Bird fields of Airflow 2's connection form (Flask AppBuilder): one WTForms form for
every connection type, holding every provider's fields, validated as the web server does
when the form is saved."""

import pytest

from airflow_provider_sms.get_provider_info import get_provider_info

pytestmark = pytest.mark.only_airflow("2", feature="the Flask AppBuilder connection form")

[BIRD] = get_provider_info()["connection-types"]


@pytest.fixture(scope="module")
def connection_form():
    """The web server's connection form class (every provider's fields added)."""
    from airflow.www.forms import create_connection_form_class

    return create_connection_form_class()


@pytest.fixture
def app():
    from flask import Flask

    app = Flask(__name__)
    app.config["WTF_CSRF_ENABLED"] = False  # the form's token is the web server's concern
    return app


@pytest.fixture
def submit(app, connection_form):
    """Validate the form as posted with `fields`: its errors (empty when it may be saved)."""
    from werkzeug.datastructures import MultiDict

    def validate(**fields: str) -> dict:
        with app.test_request_context(method="POST"):
            form = connection_form(formdata=MultiDict({"conn_id": "a_connection", **fields}))
            form.validate()
            return form.errors

    return validate


def test_every_bird_field_is_in_the_form_with_its_label(connection_form):
    for name, field in BIRD["conn-fields"].items():
        unbound = getattr(connection_form, f"extra__bird__{name}")
        assert str(unbound.args[0]) == field["label"], name


def test_another_type_is_saved_without_a_workspace_id(submit):
    assert submit(conn_type="http", host="example.com") == {}


def test_a_bird_connection_without_a_workspace_id_is_refused_naming_it(submit):
    expected = {"extra__bird__workspace_id": ["Workspace ID is required for a Bird connection"]}
    assert submit(conn_type="bird", password="a-key") == expected
    assert submit(conn_type="bird", password="a-key", extra__bird__workspace_id="  ") == expected


def test_a_bird_connection_with_a_workspace_id_is_saved(submit):
    assert submit(conn_type="bird", extra__bird__workspace_id="3f6f7a1e") == {}


def test_the_workspace_id_is_not_required_in_html(app, connection_form):
    # The browser would enforce `required` on the other types' forms too.
    with app.test_request_context():
        assert not connection_form().extra__bird__workspace_id.flags.required
