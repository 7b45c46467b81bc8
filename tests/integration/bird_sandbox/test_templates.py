"""Template sends over HTTP (bird_sandbox/templates.py): by projectId or platform name, versions,
locales, parameters."""

from __future__ import annotations

import uuid

import pytest
from sandbox_support import send, template_message

from bird_sandbox import (
    ACCESS_KEY,
    INACTIVE_TEMPLATE_VERSION_ID,
    TEMPLATE_PROJECT_ID,
    TEMPLATE_VERSION_ID,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"


@pytest.mark.parametrize(
    "version, locale, expected",
    [
        ("latest", "en", "Hi Ada, this is a reminder of your appointment on 1 May."),
        (TEMPLATE_VERSION_ID, "nl", "Hoi Ada, dit is een herinnering aan je afspraak op 1 May."),
    ],
)
def test_template_send_renders_text(sandbox, http, version, locale, expected):
    response = send(sandbox, http, template_message(version, locale))
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["template"]["projectId"] == TEMPLATE_PROJECT_ID
    assert "body" not in message
    assert sandbox.messages[0]["meta"]["extraInformation"]["renderedText"] == expected


@pytest.mark.parametrize(
    "template",
    [{"projectId": None, "name": "appointment-reminder"}, {"name": "appointment-reminder"}],
    ids=["by name", "by project and name"],
)
def test_template_send_by_platform_name_renders_text(sandbox, http, template):
    response = send(sandbox, http, template_message(TEMPLATE_VERSION_ID, "nl", **template))
    assert response.status_code == 202, response.text
    assert response.json()["template"]["name"] == "appointment-reminder"
    expected = "Hoi Ada, dit is een herinnering aan je afspraak op 1 May."
    assert sandbox.messages[0]["meta"]["extraInformation"]["renderedText"] == expected


@pytest.mark.parametrize(
    "payload, status, where",
    [
        (template_message(projectId=str(uuid.uuid4())), 404, "template project not found"),
        (template_message(projectId=None, name="no-such-template"), 404, "template not found"),
        (template_message(name="another-template"), 404, "template project not found"),
        (template_message(INACTIVE_TEMPLATE_VERSION_ID), 409, "not active"),
        (template_message(locale="fr"), 422, "template.locale"),
        (
            template_message(parameters=[{"type": "string", "key": "name", "value": "A"}]),
            422,
            "template.parameters",
        ),
    ],
    ids=[
        "unknown project",
        "unknown name",
        "project and name disagree",
        "inactive version",
        "bad locale",
        "missing parameter",
    ],
)
def test_template_errors(sandbox, http, payload, status, where):
    response = send(sandbox, http, payload)
    assert response.status_code == status, response.text
    error = response.json()
    assert where in error["message"] or where in error.get("details", {})
    assert sandbox.messages == []
