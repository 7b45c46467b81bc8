"""SendMmsOperator and SendTemplateOperator against the sandbox: every documented variant,
bad input, and the MMS capability check."""

import json

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_sms.bird.objects import is_mms_capable
from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.operators.template import SendTemplateOperator
from bird_sandbox import (
    INACTIVE_TEMPLATE_VERSION_ID,
    TEMPLATE_PROJECT_ID,
    TEMPLATE_VERSION_ID,
)

US = ["+14155552671", "+12125550123"]
IMAGE = "https://cdn.example.com/chart.png"
PDF = "https://cdn.example.com/report.pdf"


def run(operator):
    return operator.execute(context={})


def posted(sandbox):
    return [r.json for r in sandbox.requests if r.method == "POST"]


IMAGE_VARIANTS = {
    "single image": ({"images": IMAGE}, {"images": [{"mediaUrl": IMAGE}]}),
    "image with text": (
        {"images": [IMAGE], "text": "Sales today"},
        {"images": [{"mediaUrl": IMAGE}], "text": "Sales today"},
    ),
    "image with text and title": (
        {"images": [{"url": IMAGE, "alt_text": "chart"}], "text": "Sales", "title": "Report"},
        {
            "images": [{"mediaUrl": IMAGE, "altText": "chart"}],
            "text": "Sales",
            "metadata": {"subject": "Report"},
        },
    ),
    "ten images": (
        {"images": [f"https://cdn.example.com/{i}.jpg" for i in range(10)]},
        {"images": [{"mediaUrl": f"https://cdn.example.com/{i}.jpg"} for i in range(10)]},
    ),
}

FILE_VARIANTS = {
    "single file": (
        {"files": PDF},
        {"files": [{"mediaUrl": PDF, "contentType": "application/pdf"}]},
    ),
    "file with text": (
        {"files": [PDF], "text": "Monthly report"},
        {"files": [{"mediaUrl": PDF, "contentType": "application/pdf"}], "text": "Monthly report"},
    ),
    "file with text and title": (
        {
            "files": [{"url": PDF, "content_type": "application/pdf", "filename": "r.pdf"}],
            "text": "Monthly report",
            "title": "November",
        },
        {
            "files": [{"mediaUrl": PDF, "contentType": "application/pdf", "filename": "r.pdf"}],
            "text": "Monthly report",
            "metadata": {"subject": "November"},
        },
    ),
    "ten files": (
        {"files": [f"https://cdn.example.com/{i}.png" for i in range(10)]},
        {
            "files": [
                {"mediaUrl": f"https://cdn.example.com/{i}.png", "contentType": "image/png"}
                for i in range(10)
            ]
        },
    ),
}


@pytest.mark.parametrize("variant", list(IMAGE_VARIANTS))
def test_image_variants_are_accepted(checked_sandbox, variant):
    kwargs, expected = IMAGE_VARIANTS[variant]
    results = run(SendMmsOperator(task_id="mms", recipients=US, **kwargs))
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    for body in posted(checked_sandbox):
        assert body["body"] == {"type": "image", "image": expected}
    assert len(checked_sandbox.messages) == 2


@pytest.mark.parametrize("variant", list(FILE_VARIANTS))
def test_file_variants_are_accepted(checked_sandbox, variant):
    kwargs, expected = FILE_VARIANTS[variant]
    run(SendMmsOperator(task_id="mms", recipients=US, **kwargs))
    for body in posted(checked_sandbox):
        assert body["body"] == {"type": "file", "file": expected}
    assert len(checked_sandbox.messages) == 2


@pytest.mark.parametrize("version", ["latest", TEMPLATE_VERSION_ID])
def test_text_template_is_sent_without_body(checked_sandbox, version):
    op = SendTemplateOperator(
        task_id="tpl",
        recipients=US[0],
        project_id=TEMPLATE_PROJECT_ID,
        version=version,
        locale="nl",
        parameters={"name": "Robert", "date": "1 December"},
    )
    results = run(op)
    [body] = posted(checked_sandbox)
    assert "body" not in body
    assert body["template"] == {
        "projectId": TEMPLATE_PROJECT_ID,
        "version": version,
        "locale": "nl",
        "parameters": [
            {"type": "string", "key": "name", "value": "Robert"},
            {"type": "string", "key": "date", "value": "1 December"},
        ],
    }
    assert results[0]["status"] == "accepted"


def test_template_parameters_rendered_from_upstream_values(checked_sandbox):
    op = SendTemplateOperator(
        task_id="tpl",
        recipients="{{ params.to }}",
        project_id="{{ params.project }}",
        parameters={"name": "{{ params.name }}", "date": "{{ ds }}"},
    )
    op.render_template_fields(
        {"ds": "2026-12-01", "params": {"to": US[0], "project": TEMPLATE_PROJECT_ID, "name": "Ann"}}
    )
    run(op)
    [body] = posted(checked_sandbox)
    assert {p["key"]: p["value"] for p in body["template"]["parameters"]} == {
        "name": "Ann",
        "date": "2026-12-01",
    }


def test_inactive_template_version_surfaces_the_sandbox_error(checked_sandbox):
    op = SendTemplateOperator(
        task_id="tpl",
        recipients=US[0],
        project_id=TEMPLATE_PROJECT_ID,
        version=INACTIVE_TEMPLATE_VERSION_ID,
        parameters={"name": "A", "date": "B"},
    )
    with pytest.raises(AirflowFailException) as e:
        run(op)
    assert "409" in str(e.value)
    assert not checked_sandbox.messages


def test_mms_to_sms_only_channel_fails_before_sending(checked_sandbox):
    op = SendMmsOperator(
        task_id="mms", recipients=US, images=IMAGE, channel_id=checked_sandbox.sms_channel_id
    )
    with pytest.raises(AirflowFailException) as e:
        run(op)
    assert "cannot send MMS" in str(e.value) and "channel_id" in str(e.value)
    assert [r.method for r in checked_sandbox.requests] == ["GET"]


def test_mms_capability_is_checked_once_per_task(checked_sandbox):
    run(SendMmsOperator(task_id="mms", recipients=US, images=IMAGE))
    assert [r.method for r in checked_sandbox.requests].count("GET") == 1


def test_mms_to_sms_only_channel_without_check_surfaces_409(checked_sandbox):
    op = SendMmsOperator(
        task_id="mms",
        recipients=US,
        images=IMAGE,
        channel_id=checked_sandbox.sms_channel_id,
        check_mms_capability=False,
    )
    with pytest.raises(AirflowFailException) as e:
        run(op)
    assert "409" in str(e.value) and "ConflictingConditions" in str(e.value)
    assert not checked_sandbox.messages
    assert "GET" not in [r.method for r in checked_sandbox.requests]


@pytest.mark.parametrize(
    "channel",
    [
        {"capabilities": {"messaging": {"outgoing": {"mms": {"status": "active"}}}}},
        {"capabilities": {"messaging": {"messaging": {"outgoing": {"mms": {"status": "active"}}}}}},
    ],
)
def test_both_documented_capability_nestings_mean_mms_capable(channel):
    assert is_mms_capable(channel)


@pytest.mark.parametrize(
    "channel",
    [
        {},
        {"capabilities": {"messaging": {"outgoing": {"mms": {"status": "inactive"}}}}},
        {
            "capabilities": {
                "messaging": {"outgoing": {"mms": {"status": "active", "paused": True}}}
            }
        },
        {"capabilities": {"messaging": {"outgoing": {"sms": {"status": "active"}}}}},
    ],
)
def test_missing_inactive_or_paused_mms_is_not_capable(channel):
    assert not is_mms_capable(channel)


ELEVEN = [f"https://cdn.example.com/{i}.png" for i in range(11)]
PROJECT = TEMPLATE_PROJECT_ID

BAD_INPUT = [
    # SendSmsOperator
    (SendSmsOperator, {"text": "x", "recipients": "+31 6 1234"}, "recipients"),
    (SendSmsOperator, {"text": "x", "recipients": ""}, "recipients"),
    (SendSmsOperator, {"text": "x", "recipients": [{"phone": "+31612345678"}]}, "recipients"),
    (
        SendSmsOperator,
        {"text": "x", "recipients": "+31612345678", "default_region": "XX"},
        "default_region",
    ),
    (SendSmsOperator, {"text": 42, "recipients": US}, "text"),
    (
        SendSmsOperator,
        {"text": "x", "recipients": US, "tags": [f"t{i}" for i in range(11)]},
        "tags",
    ),
    (SendSmsOperator, {"text": "x", "recipients": US, "tags": ["x" * 51]}, "tags"),
    (SendSmsOperator, {"text": "x", "recipients": US, "reference": "r" * 1000}, "reference"),
    # SendMmsOperator
    (SendMmsOperator, {"recipients": US, "images": ELEVEN}, "images"),
    (SendMmsOperator, {"recipients": US, "files": ELEVEN}, "files"),
    (SendMmsOperator, {"recipients": US, "images": IMAGE, "files": PDF}, "images"),
    (SendMmsOperator, {"recipients": US}, "images"),
    (SendMmsOperator, {"recipients": US, "images": []}, "images"),
    (SendMmsOperator, {"recipients": US, "images": "/charts/today.png"}, "images"),
    (SendMmsOperator, {"recipients": US, "images": ["ftp://cdn.example.com/a.png"]}, "images"),
    (SendMmsOperator, {"recipients": US, "images": [IMAGE, "chart.png"]}, "images[1]"),
    (SendMmsOperator, {"recipients": US, "images": [{"url": IMAGE, "caption": "x"}]}, "images"),
    (
        SendMmsOperator,
        {"recipients": US, "files": ["https://cdn.example.com/data.xyz1"]},
        "content_type",
    ),
    (
        SendMmsOperator,
        {"recipients": US, "files": [{"url": PDF, "content_type": "pdf"}]},
        "content_type",
    ),
    (SendMmsOperator, {"recipients": US, "files": [{"content_type": "application/pdf"}]}, "url"),
    (SendMmsOperator, {"recipients": US, "images": IMAGE, "text": ""}, "text"),
    (SendMmsOperator, {"recipients": US, "images": IMAGE, "title": "  "}, "title"),
    (SendMmsOperator, {"recipients": ["+1415555"], "images": IMAGE}, "recipients"),
    # SendTemplateOperator
    (SendTemplateOperator, {"recipients": US, "project_id": "reminder"}, "project_id"),
    (SendTemplateOperator, {"recipients": US, "project_id": ""}, "project_id"),
    (SendTemplateOperator, {"recipients": US, "project_id": PROJECT, "version": "v2"}, "version"),
    (
        SendTemplateOperator,
        {"recipients": US, "project_id": PROJECT, "locale": "english"},
        "locale",
    ),
    (SendTemplateOperator, {"recipients": US, "project_id": PROJECT, "locale": "en_US"}, "locale"),
    (SendTemplateOperator, {"recipients": US, "project_id": PROJECT, "locale": ""}, "locale"),
    (
        SendTemplateOperator,
        {"recipients": US, "project_id": PROJECT, "parameters": {"n": None}},
        "parameters.n",
    ),
    (
        SendTemplateOperator,
        {"recipients": US, "project_id": PROJECT, "parameters": {"n": [1]}},
        "parameters.n",
    ),
    (
        SendTemplateOperator,
        {"recipients": US, "project_id": PROJECT, "parameters": {"n": {"a": 1}}},
        "parameters.n",
    ),
    (
        SendTemplateOperator,
        {"recipients": US, "project_id": PROJECT, "parameters": {"n": float("nan")}},
        "parameters.n",
    ),
    (
        SendTemplateOperator,
        {
            "recipients": US,
            "project_id": PROJECT,
            "parameters": [{"type": "colour", "key": "a", "value": "b"}],
        },
        "parameters[0]",
    ),
    (
        SendTemplateOperator,
        {"recipients": US, "project_id": PROJECT, "parameters": [{"type": "string", "value": "b"}]},
        "parameters[0]",
    ),
    (
        SendTemplateOperator,
        {
            "recipients": US,
            "project_id": PROJECT,
            "parameters": [{"type": "number", "key": "a", "value": "3"}],
        },
        "parameters[0]",
    ),
    (
        SendTemplateOperator,
        {"recipients": US, "project_id": PROJECT, "parameters": "name=Robert"},
        "parameters",
    ),
]


@pytest.mark.parametrize(
    ("operator", "kwargs", "field"),
    BAD_INPUT,
    ids=[f"{op.__name__}-{i}-{field}" for i, (op, _, field) in enumerate(BAD_INPUT)],
)
def test_bad_input_names_the_field_and_sends_nothing(checked_sandbox, operator, kwargs, field):
    with pytest.raises(AirflowFailException) as e:
        run(operator(task_id="t", **kwargs))
    assert field in str(e.value)
    assert checked_sandbox.requests == []


def test_bad_input_error_never_shows_the_access_key(checked_sandbox, monkeypatch):
    conn = checked_sandbox.connection()
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    with pytest.raises(AirflowFailException) as e:
        run(SendMmsOperator(task_id="t", recipients=US, images=ELEVEN))
    assert checked_sandbox.access_key not in str(e.value)
