"""What the send operators share: their templated fields, declared once."""

from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.operators.template import SendTemplateOperator

SHARED = ("recipients", "exclude_recipients", "channel_id", "reference", "tags", "bird_conn_id")


def test_each_kind_templates_the_shared_fields_then_its_content():
    for operator, content in [
        (SendSmsOperator, ("text",)),
        (SendMmsOperator, ("images", "files", "text", "title", "fallback_text")),
        (SendTemplateOperator, ("project_id", "template_name", "version", "locale")),
    ]:
        fields = tuple(operator.template_fields)
        assert fields[: len(SHARED)] == SHARED
        assert set(content) <= set(fields)
        assert fields.count("recipients") == 1
    assert SendMmsOperator.template_fields_renderers["images"] == "json"
    assert SendTemplateOperator.template_fields_renderers["variables"] == "json"
    assert SendSmsOperator.template_fields_renderers == {"extra_information": "json"}


def test_a_users_subclass_keeps_the_template_fields_it_names():
    class Reminder(SendMmsOperator):
        template_fields = ("recipients", "text")

    class Captioned(SendMmsOperator):
        content_fields = (*SendMmsOperator.content_fields, "caption")

    assert Reminder.template_fields == ("recipients", "text")
    assert Captioned.template_fields[-1] == "caption"
    assert "images" in Captioned.template_fields


def test_each_kind_keeps_its_content_arguments_under_their_names():
    sms = SendSmsOperator(task_id="s", recipients="+31612345678", text="hi")
    mms = SendMmsOperator(
        task_id="m", recipients="+12025550100", images=["https://x.example/a.png"], title="T"
    )
    template = SendTemplateOperator(
        task_id="t", recipients="+31612345678", template_name="reminder", variables={"a": "b"}
    )
    assert sms.text == "hi"
    assert (mms.images, mms.files, mms.text, mms.title) == (
        ["https://x.example/a.png"], None, None, "T",
    )  # fmt: skip
    assert (template.template_name, template.project_id, template.version) == (
        "reminder", None, "latest",
    )  # fmt: skip
    assert template.variables == {"a": "b"} and template.locale == "en"
