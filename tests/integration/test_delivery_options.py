"""The delivery options (validity, quiet hours, holdout, links, webhook, extra information),
templates by name with variables and UTM parameters, and MMS fallback text: refused before
any request when wrong, and sent as Bird's schema says when right."""

from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_sms.bird import facts
from airflow_provider_sms.notifications.sms import SmsNotifier
from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.operators.template import SendTemplateOperator
from bird_sandbox.catalogue import TEMPLATE_PROJECT_ID

US_MOBILE = "+14155552671"
PARAMETERS = {"name": "Ada", "date": "1 May"}


def sms(**options):
    return SendSmsOperator(task_id="t", recipients=US_MOBILE, text="Hi", **options)


def template(**options):
    options.setdefault("parameters", PARAMETERS)
    if "template_name" not in options:
        options.setdefault("project_id", TEMPLATE_PROJECT_ID)
    return SendTemplateOperator(task_id="t", recipients=US_MOBILE, **options)


def mms(**options):
    return SendMmsOperator(
        task_id="t", recipients=US_MOBILE, images="https://e.example/a.png", **options
    )


LONG_DOMAIN = ".".join(["a" * 60] * 3)  # 182 characters
BAD = [
    ("validity negative", lambda: sms(validity=-1), "validity", "at least 0"),
    ("validity fractional", lambda: sms(validity=1.5), "validity", "not whole seconds"),
    ("validity float", lambda: sms(validity=60.0), "validity", "not whole seconds"),
    ("validity boolean", lambda: sms(validity=True), "validity", "boolean"),
    (
        "validity fractional timedelta",
        lambda: sms(validity=timedelta(seconds=1.5)),
        "validity",
        "whole number of seconds",
    ),
    (
        "validity negative timedelta",
        lambda: sms(validity=timedelta(seconds=-5)),
        "validity",
        "at least 0",
    ),
    ("validity text", lambda: sms(validity="an hour"), "validity", "got str"),
    (
        "validity beyond any integer Bird reads",
        lambda: sms(validity=10**20),
        "validity",
        "at most 2147483647 seconds",
    ),
    (
        "validity beyond as rendered text",
        lambda: template(validity="2147483648"),
        "validity",
        "at most 2147483647 seconds",
    ),
    (
        "validity timedelta beyond",
        lambda: mms(validity=timedelta(days=25_000)),
        "validity",
        "at most 2147483647 seconds",
    ),
    ("quiet hours not bool", lambda: sms(ignore_quiet_hours="yes"), "ignore_quiet_hours", "True"),
    ("holdout not bool", lambda: sms(ignore_global_holdout=1), "ignore_global_holdout", "True"),
    ("track links not bool", lambda: sms(track_links="no"), "track_links", "True or False"),
    ("track links without short links", lambda: sms(track_links=True), "track_links", "short"),
    ("domain too long", lambda: sms(short_links=LONG_DOMAIN), "short_links", "at most 128"),
    ("domain with scheme", lambda: sms(short_links="https://go.example"), "short_links", "scheme"),
    ("domain with path", lambda: sms(short_links="go.example/x"), "short_links", "a path"),
    ("domain with port", lambda: sms(short_links="go.example:8443"), "short_links", "a port"),
    ("domain with user", lambda: sms(short_links="me@go.example"), "short_links", "user info"),
    ("domain empty", lambda: sms(short_links=""), "short_links", "'default' or a domain"),
    ("domain not a name", lambda: sms(short_links="go_links"), "short_links", "not a domain"),
    (
        "template domain with scheme",
        lambda: template(short_links="http://go.example"),
        "short_links",
        "scheme",
    ),
    (
        "notification over http",
        lambda: sms(notification_url="http://hooks.example/bird"),
        "notification_url",
        "https",
    ),
    (
        "notification with user info",
        lambda: sms(notification_url="https://user:secret@hooks.example/bird"),
        "notification_url",
        "credentials",
    ),
    (
        "notification relative",
        lambda: sms(notification_url="/bird/events"),
        "notification_url",
        "https",
    ),
    (
        "notification too long",
        lambda: sms(notification_url="https://hooks.example/" + "x" * 3000),
        "notification_url",
        "at most",
    ),
    (
        "extra information not JSON",
        lambda: sms(extra_information={"when": object()}),
        "extra_information",
        "not JSON-serialisable",
    ),
    (
        "extra information NaN",
        lambda: sms(extra_information={"score": float("nan")}),
        "extra_information",
        "not JSON-serialisable",
    ),
    (
        "extra information too big",
        lambda: sms(extra_information={"blob": "x" * facts.MAX_EXTRA_INFORMATION_BYTES}),
        "extra_information",
        "bytes as JSON",
    ),
    (
        "extra information a list",
        lambda: sms(extra_information=["a"]),
        "extra_information",
        "mapping",
    ),
    (
        "extra information int keys",
        lambda: sms(extra_information={1: "a"}),
        "extra_information",
        "keys must be strings",
    ),
    (
        "template name and project id",
        lambda: template(project_id=TEMPLATE_PROJECT_ID, template_name="appointment-reminder"),
        "project_id/template_name",
        "both were given",
    ),
    (
        "neither template name nor project id",
        lambda: template(project_id=None),
        "project_id/template_name",
        "exactly one",
    ),
    (
        "template name empty",
        lambda: template(project_id=None, template_name=" "),
        "template_name",
        "non-empty",
    ),
    ("variables not a mapping", lambda: template(variables=["a"]), "variables", "mapping"),
    ("variables not strings", lambda: template(variables={"n": 3}), "variables.n", "string"),
    ("utm none", lambda: template(utm_parameters=[]), "utm_parameters", "1 to 8"),
    (
        "utm nine",
        lambda: template(utm_parameters={f"k{i}": "v" for i in range(9)}),
        "utm_parameters",
        "1 to 8",
    ),
    (
        "utm key too long",
        lambda: template(utm_parameters=[{"key": "k" * 21, "value": "v"}]),
        "utm_parameters[0].key",
        "1 to 20",
    ),
    (
        "utm value too long",
        lambda: template(utm_parameters=[{"key": "utm_source", "value": "v" * 101}]),
        "utm_parameters[0].value",
        "1 to 100",
    ),
    (
        "utm value empty",
        lambda: template(utm_parameters={"utm_source": ""}),
        "utm_parameters[0].value",
        "1 to 100",
    ),
    (
        "utm bad reference",
        lambda: template(utm_parameters=[{"key": "utm_source", "reference": "campaign"}]),
        "utm_parameters[0].reference",
        "channel_name, platform_name",
    ),
    (
        "utm value and reference",
        lambda: template(utm_parameters=[{"key": "s", "value": "v", "reference": "channel_name"}]),
        "utm_parameters[0]",
        "exactly one of value and reference",
    ),
    (
        "utm unknown key",
        lambda: template(utm_parameters=[{"key": "s", "val": "v"}]),
        "utm_parameters[0]",
        "unknown key",
    ),
    ("mms fallback empty", lambda: mms(fallback_text=""), "fallback_text", "empty"),
    ("mms fallback not text", lambda: mms(fallback_text=5), "fallback_text", "got int"),
]


@pytest.mark.parametrize(
    ("build", "field", "fragment"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_a_bad_option_is_refused_before_any_request(checked_sandbox, build, field, fragment):
    with pytest.raises(AirflowFailException) as info:
        build().execute({})
    message = str(info.value)
    assert f"{field}: " in message and fragment in message, message
    assert checked_sandbox.requests == []


def test_a_bad_notifier_validity_is_refused_before_any_request(checked_sandbox):
    notifier = SmsNotifier(recipients=US_MOBILE, text="down", validity=-60)
    with pytest.raises(AirflowFailException, match="validity: must be at least 0"):
        notifier.notify({})
    assert checked_sandbox.requests == []


def stored(sandbox) -> dict:
    [message] = sandbox.messages
    return message


def test_every_sms_option_is_sent_as_birds_schema_says(checked_sandbox):
    sms(
        validity=timedelta(minutes=30),
        ignore_quiet_hours=True,
        ignore_global_holdout=False,
        track_links=True,
        short_links="Go.Example.com",
        notification_url="https://hooks.example/bird",
        extra_information={"useCase": "transactional", "order": 42},
        smart_encoding=True,
    ).execute({})
    [request] = [r.json for r in checked_sandbox.requests if r.method == "POST"]
    assert request["validity"] == 1800
    assert request["ignoreQuietHours"] is True
    assert request["ignoreGlobalHoldout"] is False
    assert request["enableLinkTracking"] is True
    assert request["shortLinks"] == {"domain": "go.example.com"}
    assert request["notification"] == {"url": "https://hooks.example/bird"}
    assert request["meta"] == {
        "extraInformation": {"useCase": "transactional", "order": 42},
        "sms": {"smartEncoding": True},
    }


def test_options_not_given_are_not_sent(checked_sandbox):
    sms().execute({})
    [request] = [r.json for r in checked_sandbox.requests if r.method == "POST"]
    assert not set(request) & {
        "validity",
        "ignoreQuietHours",
        "ignoreGlobalHoldout",
        "enableLinkTracking",
        "shortLinks",
        "notification",
        "meta",
    }


def test_validity_zero_and_a_rendered_string_are_whole_seconds(checked_sandbox):
    sms(validity=0).execute({})
    sms(validity="600").execute({})
    assert [r.json["validity"] for r in checked_sandbox.requests if r.method == "POST"] == [0, 600]


def test_a_template_by_name_with_variables_utm_and_its_own_short_links(checked_sandbox):
    template(
        project_id=None,
        template_name="appointment-reminder",
        variables={"clinic": "Oost"},
        utm_parameters=[
            {"key": "utm_source", "value": "airflow"},
            {"key": "utm_medium", "reference": "channel_name"},
        ],
        short_links="default",
        track_links=True,
    ).execute({})
    [request] = [r.json for r in checked_sandbox.requests if r.method == "POST"]
    assert "shortLinks" not in request and request["enableLinkTracking"] is True
    assert request["template"]["name"] == "appointment-reminder"
    assert "projectId" not in request["template"]
    assert request["template"]["variables"] == {"clinic": "Oost"}
    assert request["template"]["utmParameters"] == [
        {"key": "utm_source", "value": "airflow"},
        {"key": "utm_medium", "reference": "channel_name"},
    ]
    assert request["template"]["shortLinks"] == {"enabled": True, "domain": "default"}
    assert stored(checked_sandbox)["template"]["name"] == "appointment-reminder"


def test_mms_fallback_text_sits_beside_the_subject(checked_sandbox):
    mms(title="Your ticket", fallback_text="See https://e.example/t").execute({})
    metadata = stored(checked_sandbox)["body"]["image"]["metadata"]
    assert metadata == {"subject": "Your ticket", "fallbackText": "See https://e.example/t"}


def test_the_notifier_ignores_quiet_hours_and_holdout_unless_told(checked_sandbox):
    context = {"dag_run": None}
    SmsNotifier(recipients=US_MOBILE, text="down", validity=300).notify(context)
    SmsNotifier(
        recipients="+14155552672",
        text="down",
        ignore_quiet_hours=False,
        ignore_global_holdout=False,
    ).notify(context)
    first, second = [r.json for r in checked_sandbox.requests if r.method == "POST"]
    assert (first["ignoreQuietHours"], first["ignoreGlobalHoldout"]) == (True, True)
    assert first["validity"] == 300
    assert (second["ignoreQuietHours"], second["ignoreGlobalHoldout"]) == (False, False)
    assert "validity" not in second


def test_the_segment_count_with_short_links_is_an_upper_bound(checked_sandbox, capsys):
    sms(short_links="default").execute({})
    assert "an upper bound: Bird shortens the links afterwards" in capsys.readouterr().out


def test_batch_sends_carry_the_options_too(checked_sandbox):
    SendSmsOperator(
        task_id="t",
        recipients=[US_MOBILE, "+14155552672"],
        text="See https://x.example/a",
        use_batch_api=True,
        check_batch_results=True,
        validity=900,
        short_links="go.example.com",
        extra_information={"batch": True},
    ).execute({})
    [batch] = [r.json for r in checked_sandbox.requests if r.path.endswith("/batch/messages")]
    for item in batch["messageRequests"]:
        assert item["validity"] == 900 and item["shortLinks"] == {"domain": "go.example.com"}
    for message in checked_sandbox.messages:
        assert message["validity"] == 900
        assert message["body"]["text"]["text"].startswith("See https://go.example.com/")
