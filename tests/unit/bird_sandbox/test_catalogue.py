"""The catalogue's magic recipients (bird_sandbox/catalogue.py): valid numbers the provider sends
to, described once."""

from __future__ import annotations

from airflow_provider_sms.message.recipients import normalize_recipients
from bird_sandbox import (
    DEFAULT_STATUS_DELAYS,
    DELIVERY_FAILS_NL,
    DELIVERY_FAILS_US,
    MAGIC_RECIPIENTS,
    SENDING_FAILS_NL,
    SENDING_FAILS_US,
    STAYS_SENT_NL,
    STAYS_SENT_US,
    BirdSandbox,
    SandboxBackend,
)


def test_magic_numbers_are_valid_numbers_the_provider_sends_to():
    magic = [
        DELIVERY_FAILS_NL,
        DELIVERY_FAILS_US,
        SENDING_FAILS_NL,
        SENDING_FAILS_US,
        STAYS_SENT_NL,
        STAYS_SENT_US,
    ]
    assert normalize_recipients(magic) == magic
    assert set(MAGIC_RECIPIENTS) == set(magic)
    assert [n[:3] for n in magic] == ["+31", "+12"] * 3
    # The US ones are in 555-0100..0199, the range reserved for fiction.
    assert all(n[5:9] == "5550" and n[9] == "1" for n in magic if n.startswith("+1"))
    assert BirdSandbox.delivery_fails_nl == DELIVERY_FAILS_NL
    assert BirdSandbox.stays_sent_us == STAYS_SENT_US


def test_default_delays_are_short():
    assert dict(DEFAULT_STATUS_DELAYS) == {"processing": 0.2, "sent": 0.5, "delivered": 1.0}
    assert SandboxBackend().status_delays == dict(DEFAULT_STATUS_DELAYS)
    assert BirdSandbox().status_delays == dict(DEFAULT_STATUS_DELAYS)


def test_the_magic_recipients_are_described_once_and_listed_from_the_catalogue():
    from bird_sandbox import catalogue

    listed = catalogue.describe_magic_recipients().splitlines()
    numbers = [
        *catalogue.MAGIC_RECIPIENTS,
        *catalogue.ODD_STATUSES,
        *catalogue.CARRIER_CAPS,
        *catalogue.ANSWERING_RECIPIENTS,
    ]
    assert [line.split()[0] for line in listed] == numbers
    for number, ending in catalogue.MAGIC_RECIPIENTS.items():
        assert catalogue.ENDINGS[ending] in listed[numbers.index(number)]
    for number, place in catalogue.CARRIER_CAP_PLACES.items():
        assert place in listed[numbers.index(number)]
    for number, answer in catalogue.ANSWERING_RECIPIENTS.items():
        assert catalogue.ANSWERS[answer] in listed[numbers.index(number)]
