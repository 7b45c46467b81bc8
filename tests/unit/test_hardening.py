"""Input that must never be sent, refused before any request with the field named."""

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.message.bodies import file_body, image_body, mms_body, text_body
from airflow_provider_sms.message.recipients import normalize_recipients
from airflow_provider_sms.redaction import redact_numbers


def example(region, kind):
    number = phonenumbers.example_number_for_type(region, kind)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize(
    ("region", "kind", "what"),
    [
        ("NL", PhoneNumberType.PREMIUM_RATE, "a premium-rate number"),
        ("GB", PhoneNumberType.PREMIUM_RATE, "a premium-rate number"),
        ("US", PhoneNumberType.PREMIUM_RATE, "a premium-rate number"),
        ("FR", PhoneNumberType.SHARED_COST, "a shared-cost number"),
    ],
)
def test_premium_rate_and_shared_cost_numbers_are_refused_unless_allowed(region, kind, what):
    number = example(region, kind)
    with pytest.raises(InvalidMessageError) as e:
        normalize_recipients([example("NL", PhoneNumberType.MOBILE), number])
    assert e.value.field == "recipients"
    assert f"({what}; refused unless allow_premium_numbers=True)" in e.value.problem
    assert number not in str(e.value)
    assert normalize_recipients(number, allow_premium_numbers=True) == [number]


def test_allowed_regions_refuse_numbers_elsewhere():
    dutch, belgian = example("NL", PhoneNumberType.MOBILE), example("BE", PhoneNumberType.MOBILE)
    assert normalize_recipients([dutch], allowed_regions=["nl", "BE"]) == [dutch]
    with pytest.raises(InvalidMessageError, match="in BE, not in allowed_regions"):
        normalize_recipients([dutch, belgian], allowed_regions="NL")
    with pytest.raises(InvalidMessageError) as e:
        normalize_recipients([dutch], allowed_regions=["Netherlands"])
    assert e.value.field == "allowed_regions"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("\x01", "contains only control characters"),
        ("\x07\x1b ", "contains only control characters"),
        ("Hi\x00there", "contains a NUL byte at position 2"),
        ("Hi \ud83d", "contains a lone surrogate at position 3"),
        ("x" * 1601, "is 1,601 characters long; at most 1,600 are sent"),
    ],
)
def test_text_that_is_not_a_message_is_refused(text, problem):
    for build in (lambda: text_body(text), lambda: image_body("https://e.x/a.png", text=text)):
        with pytest.raises(InvalidMessageError) as e:
            build()
        assert e.value.field == "text" and problem in e.value.problem
    with pytest.raises(InvalidMessageError) as e:
        mms_body(images="https://e.x/a.png", title=text)
    assert e.value.field == "title"


def test_ordinary_text_still_goes_through():
    assert text_body("Hi 👋\nsee you at 10:00")["text"]["text"] == "Hi 👋\nsee you at 10:00"
    assert text_body("x" * 1600)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/chart.png",
        "http://127.0.0.1:8080/chart.png",
        "http://10.1.2.3/chart.png",
        "http://192.168.0.5/chart.png",
        "http://[::1]/chart.png",
        "http://169.254.169.254/chart.png",
        "http://reports.local/chart.png",
    ],
)
def test_media_bird_can_never_fetch_is_refused(url):
    with pytest.raises(InvalidMessageError, match="local or private-network host"):
        image_body(url)
    with pytest.raises(InvalidMessageError, match="local or private-network host"):
        file_body({"url": url.replace(".png", ".pdf"), "content_type": "application/pdf"})


@pytest.mark.parametrize(
    "text", ["(415) 555-2671", "415-555-2671", "415.555.2671", "06 1234 5678", "0612-345678"]
)
def test_numbers_in_national_format_are_masked_in_error_text(text):
    redacted = redact_numbers(f"The recipient {text} cannot receive messages")
    digits = "".join(c for c in text if c.isdigit())
    assert digits[3:-2] not in "".join(c for c in redacted if c.isdigit())


def test_dates_and_ids_stay_readable():
    text = "on 2026-11-27 at 10:00, batch 5d31ef73-de34-4006-a7ea-3b91aaa8ef9c, code 11001"
    assert redact_numbers(text) == text
