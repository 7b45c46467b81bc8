"""The delivery and template options as message/options.py builds them."""

from datetime import timedelta

import pytest
from support import bird_errors

from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.message.bodies import template_payload
from airflow_provider_sms.message.options import (
    check_extra_information,
    check_notification_url,
    delivery_options,
    short_link_domain,
    utm_parameters,
    validity_seconds,
)
from airflow_provider_sms.message.outgoing import Outgoing

CHANNEL = "6b52e9cb-2ddf-45b5-8aea-62882e999fb7"
PROJECT = "3f8f23b5-e9a5-4e10-9c36-93c27d1578d6"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(0, 0), (600, 600), ("3600", 3600), (" 60 ", 60), (timedelta(hours=36), 129600)],
)
def test_validity_in_whole_seconds(value, seconds):
    assert validity_seconds(value) == seconds


def test_validity_up_to_the_largest_integer_every_reading_of_birds_schema_holds():
    assert facts.MAX_VALIDITY_SECONDS == 2**31 - 1
    assert validity_seconds(2**31 - 1) == validity_seconds("0002147483647") == 2**31 - 1
    for value, shown in [
        (2**31, "got 2147483648"),
        (10**20, "got 100000000000000000000"),
        (timedelta(days=24_856), "got 2147558400"),
        ("9" * 5000, "got a number of over 30 digits"),  # int() refuses it: still this error
        (10**5000, "got a number of over 30 digits"),
    ]:
        with pytest.raises(InvalidMessageError, match="at most 2147483647 seconds") as info:
            validity_seconds(value)
        assert str(info.value).startswith("validity: ") and shown in str(info.value)
    with pytest.raises(
        InvalidMessageError,
        match="at least 0 seconds and at most 2147483647 seconds .*, got a number of over",
    ):
        validity_seconds(-(10**5000))


def test_short_link_domains():
    assert short_link_domain("default") == "default"
    assert short_link_domain(" Go.Example.COM ") == "go.example.com"
    assert short_link_domain("a" * 60 + ".example") == "a" * 60 + ".example"
    longest = ".".join(["a" * 63, "b" * 63]) + ".c"  # 129 characters
    with pytest.raises(InvalidMessageError, match="at most 128"):
        short_link_domain(longest)
    assert len(short_link_domain(longest[1:])) == facts.MAX_SHORT_LINK_DOMAIN_LENGTH
    for bad in ("localhost", "-a.example", "a..example", "1.2.3.4", "ex ample.com"):
        with pytest.raises(InvalidMessageError):
            short_link_domain(bad)


def test_notification_urls():
    url = "https://hooks.example.com:8443/bird?x=1"
    assert check_notification_url(url) == url
    for bad in ("https://:secret@hooks.example", "ftp://hooks.example", "https://", "x"):
        with pytest.raises(InvalidMessageError):
            check_notification_url(bad)


def test_extra_information_is_a_plain_copy_up_to_4_kb():
    given = {"order": {"id": 42, "items": [1, 2]}}
    checked = check_extra_information(given)
    assert checked == given and checked["order"] is not given["order"]
    overhead = len('{"k":""}')
    assert check_extra_information({"k": "x" * (4096 - overhead)})
    with pytest.raises(InvalidMessageError, match="4,097 bytes"):
        check_extra_information({"k": "x" * (4097 - overhead)})
    with pytest.raises(InvalidMessageError, match="bytes"):
        check_extra_information({"k": "é" * 2100})  # bytes, not characters


def test_utm_parameters_shapes():
    assert utm_parameters({"utm_source": "airflow"}) == [{"key": "utm_source", "value": "airflow"}]
    eight = [{"key": f"k{i}", "reference": "platform_name"} for i in range(8)]
    assert utm_parameters(eight) == eight
    with pytest.raises(InvalidMessageError, match="got 9"):
        utm_parameters([*eight, {"key": "k8", "value": "v"}])
    with pytest.raises(InvalidMessageError, match="exactly one"):
        utm_parameters([{"key": "k"}])


def test_only_the_options_given_are_sent_and_track_links_needs_short_links():
    assert delivery_options({}) == {}
    assert delivery_options({"track_links": False}) == {"enableLinkTracking": False}
    given = {"short_links": "default", "track_links": True}
    assert delivery_options(given, template=True) == {"enableLinkTracking": True}
    assert delivery_options({"extra_information": {}}) == {}
    with pytest.raises(TypeError, match="not delivery options"):
        delivery_options({"valdity": 5})


def test_the_request_validates_against_birds_schema_with_every_option():
    outgoing = Outgoing.build(
        kind="SMS",
        recipients="+31612345678",
        channel_id=CHANNEL,
        content={"body": {"type": "text", "text": {"text": "https://x.example/a"}}},
        smart_encoding=True,
        delivery={
            "validity": timedelta(minutes=5),
            "ignore_quiet_hours": True,
            "ignore_global_holdout": True,
            "track_links": True,
            "short_links": "default",
            "notification_url": "https://hooks.example/bird",
            "extra_information": {"useCase": "transactional"},
        },
    )
    request = outgoing.request("+31612345678")
    assert bird_errors(request) == []
    assert request["meta"] == {
        "extraInformation": {"useCase": "transactional"},
        "sms": {"smartEncoding": True},
    }
    # The options are part of what a retry compares.
    plain = Outgoing.build(
        kind="SMS", recipients="+31612345678", channel_id=CHANNEL, content=outgoing.content
    )
    assert plain.digest != outgoing.digest


def test_a_template_by_name_validates_against_birds_schema():
    template = template_payload(
        name="appointment-reminder",
        parameters={"name": "Ada", "date": "1 May"},
        variables={"clinic": "Oost"},
        utm_parameters=[{"key": "utm_source", "value": "airflow"}],
        short_links="go.example.com",
    )
    assert template["shortLinks"] == {"enabled": True, "domain": "go.example.com"}
    request = {"receiver": {"contacts": [{"identifierValue": "+31612345678"}]}}
    assert bird_errors({**request, "template": template}) == []
    assert "projectId" in template_payload(PROJECT)
