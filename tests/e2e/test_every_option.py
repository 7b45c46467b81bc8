"""Each of Bird's SMS options, set in one real `airflow dags test` run (tests/e2e/dags/
every_option.py: SMS, template and MMS tasks), stored by the sandbox as Bird's schema says."""

import json

import pytest
from support import TEST_DAGS, assert_valid_create_batch, assert_valid_create_message, receiver

from bird_sandbox import BirdSandbox

SMS, TEMPLATE, MMS = "+31612345678", "+31612345679", "+14155552671"


@pytest.fixture(scope="module")
def stored(airflow_home):
    """recipient -> the message the sandbox stored, after one run of the DAG; every body the
    run POSTed validated against Bird's CreateMessage (or CreateBatchMessages)."""
    with BirdSandbox() as sandbox:
        airflow_home.dags_test(
            "every_option",
            AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
            AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(sandbox.connection()),
        )
        for request in sandbox.requests:
            if request.method == "POST":
                check = (
                    assert_valid_create_batch
                    if request.path.endswith("/batch/messages")
                    else assert_valid_create_message
                )
                check(request.json)
        yield {receiver(m): m for m in sandbox.messages}


def test_validity(stored):
    assert (stored[SMS]["validity"], stored[TEMPLATE]["validity"]) == (1800, 7200)
    assert stored[MMS]["validity"] == 600


def test_ignore_quiet_hours_and_global_holdout(stored):
    assert stored[SMS]["ignoreQuietHours"] is True and stored[SMS]["ignoreGlobalHoldout"] is True
    assert stored[MMS]["ignoreQuietHours"] is False and stored[MMS]["ignoreGlobalHoldout"] is False


def test_track_links(stored):
    assert stored[SMS]["enableLinkTracking"] is True


def test_short_links_and_the_shortened_text(stored):
    assert stored[SMS]["shortLinks"] == {"domain": "go.example.com"}
    text = stored[SMS]["body"]["text"]["text"]
    assert "track.example" not in text and "https://go.example.com/" in text


def test_notification_url(stored):
    assert stored[SMS]["notification"] == {"url": "https://hooks.example/bird/every_option"}


def test_extra_information_beside_smart_encoding(stored):
    extra = stored[SMS]["meta"]["extraInformation"]
    assert {k: extra[k] for k in ("useCase", "dag")} == {
        "useCase": "transactional",
        "dag": "every_option",
    }
    assert stored[SMS]["meta"]["sms"] == {"smartEncoding": True}


def test_template_name_instead_of_project_id(stored):
    template = stored[TEMPLATE]["template"]
    assert template["name"] == "appointment-reminder" and "projectId" not in template
    assert stored[TEMPLATE]["meta"]["extraInformation"]["renderedText"].startswith("Hi Robert, ")


def test_template_variables(stored):
    assert stored[TEMPLATE]["template"]["variables"] == {"clinic": "Oost"}


def test_template_utm_parameters(stored):
    assert stored[TEMPLATE]["template"]["utmParameters"] == [
        {"key": "utm_source", "value": "airflow"},
        {"key": "utm_medium", "reference": "channel_name"},
    ]


def test_template_short_links_are_the_templates_own(stored):
    assert stored[TEMPLATE]["template"]["shortLinks"] == {"enabled": True, "domain": "default"}
    assert "shortLinks" not in stored[TEMPLATE]


def test_mms_fallback_text_beside_the_subject(stored):
    assert stored[MMS]["body"]["image"]["metadata"] == {
        "subject": "Sales report",
        "fallbackText": "Sales report: https://reports.example.com/sales/today",
    }
