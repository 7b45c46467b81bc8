"""What the sandbox does between acceptance and delivery when the request or the channel asks
(bird_sandbox/rules.py): validity, the seeded channel's quiet hours, link shortening."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox_support import ending, rfc3339, stamp, template_message, text_message

from bird_sandbox import (
    MMS_CHANNEL_ID,
    QUIET_HOURS_CHANNEL_ID,
    SHORT_LINK_DOMAIN,
    STAYS_SENT_NL,
    WORKSPACE_ID,
)
from bird_sandbox.catalogue import EXPIRED_FAILURE
from bird_sandbox.rules import expire, quiet_hours_end, shorten_links

EVENING = datetime(2026, 3, 2, 22, 30, tzinfo=UTC).timestamp()
NEXT_MORNING = datetime(2026, 3, 3, 8, 0, tzinfo=UTC).timestamp()
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()


def send(backend, payload, channel_id=MMS_CHANNEL_ID) -> dict:
    return backend.create_message(WORKSPACE_ID, channel_id, payload)


def status_at(backend, clock, message, moment, channel_id=MMS_CHANNEL_ID) -> dict:
    clock.now = moment
    return backend.get_message(WORKSPACE_ID, channel_id, message["id"])


# -- validity ------------------------------------------------------------------------------


def test_a_message_not_delivered_within_its_validity_ends_delivery_failed(backend, clock):
    start = clock.now
    sent = send(backend, text_message(validity=0))
    assert sent["validity"] == 0 and sent["status"] == "accepted"
    expired = status_at(backend, clock, sent, start + 0.01)
    assert expired["status"] == "delivery_failed"
    assert ending(expired) == {"status": "delivery_failed", **EXPIRED_FAILURE}
    assert expired["lastStatusAt"] == stamp(start)


def test_a_message_delivered_within_its_validity_is_delivered(backend, clock):
    start = clock.now
    sent = send(backend, text_message(validity=1))
    assert status_at(backend, clock, sent, start + 1.0)["status"] == "delivered"


def test_a_message_that_stays_sent_expires_at_its_validity(backend, clock):
    start = clock.now
    sent = send(backend, text_message(to=STAYS_SENT_NL, validity=60))
    assert status_at(backend, clock, sent, start + 59)["status"] == "sent"
    assert status_at(backend, clock, sent, start + 60)["status"] == "delivery_failed"


def test_expire_keeps_the_stages_before_the_validity():
    stages = ((0.2, "processing", None), (0.5, "sent", None), (1.0, "delivered", None))
    assert expire(stages, 5) == stages
    assert [s[1] for s in expire(stages, 0)] == ["delivery_failed"]
    assert [s[:2] for s in expire(stages, 0)] == [(0.0, "delivery_failed")]
    failing = ((0.2, "processing", None), (0.5, "sending_failed", {}))
    assert expire(failing, 0) == failing


# -- quiet hours ---------------------------------------------------------------------------


def test_quiet_hours_end_is_the_next_08_00_utc():
    message = {"channelId": QUIET_HOURS_CHANNEL_ID}
    assert quiet_hours_end(QUIET_HOURS_CHANNEL_ID, message, EVENING) == NEXT_MORNING
    early = datetime(2026, 3, 3, 7, 59, tzinfo=UTC).timestamp()
    assert quiet_hours_end(QUIET_HOURS_CHANNEL_ID, message, early) == NEXT_MORNING
    nine_pm = datetime(2026, 3, 2, 21, 0, tzinfo=UTC).timestamp()
    assert quiet_hours_end(QUIET_HOURS_CHANNEL_ID, message, nine_pm) == NEXT_MORNING
    assert quiet_hours_end(QUIET_HOURS_CHANNEL_ID, message, NEXT_MORNING) is None
    assert quiet_hours_end(QUIET_HOURS_CHANNEL_ID, message, NOON) is None
    assert quiet_hours_end(MMS_CHANNEL_ID, message, EVENING) is None
    ignoring = {**message, "ignoreQuietHours": True}
    assert quiet_hours_end(QUIET_HOURS_CHANNEL_ID, ignoring, EVENING) is None


def test_the_quiet_hours_channel_holds_a_message_scheduled_until_they_end(backend, clock):
    clock.now = EVENING
    held = send(backend, text_message(), QUIET_HOURS_CHANNEL_ID)
    assert held["status"] == "scheduled" and "scheduledFor" not in held
    for moment in (EVENING + 3600, NEXT_MORNING - 0.1):
        assert status_at(backend, clock, held, moment, QUIET_HOURS_CHANNEL_ID)["status"] == (
            "scheduled"
        )
    processing = status_at(backend, clock, held, NEXT_MORNING + 0.2, QUIET_HOURS_CHANNEL_ID)
    assert processing["status"] == "processing"
    assert processing["lastStatusAt"] == stamp(NEXT_MORNING + 0.2)
    delivered = status_at(backend, clock, held, NEXT_MORNING + 1, QUIET_HOURS_CHANNEL_ID)
    assert delivered["status"] == "delivered"


def test_ignore_quiet_hours_sends_at_once(backend, clock):
    clock.now = EVENING
    urgent = send(backend, text_message(ignoreQuietHours=True), QUIET_HOURS_CHANNEL_ID)
    assert urgent["status"] == "accepted" and urgent["ignoreQuietHours"] is True
    delivered = status_at(backend, clock, urgent, EVENING + 1, QUIET_HOURS_CHANNEL_ID)
    assert delivered["status"] == "delivered"


def test_outside_quiet_hours_and_on_other_channels_nothing_is_held(backend, clock):
    clock.now = NOON
    assert send(backend, text_message(), QUIET_HOURS_CHANNEL_ID)["status"] == "accepted"
    clock.now = EVENING
    assert send(backend, text_message())["status"] == "accepted"


def test_a_message_scheduled_into_quiet_hours_waits_for_their_end(backend, clock):
    clock.now = NOON
    held = send(backend, text_message(scheduledFor=rfc3339(EVENING)), QUIET_HOURS_CHANNEL_ID)
    assert held["status"] == "scheduled"
    late = status_at(backend, clock, held, EVENING + 5, QUIET_HOURS_CHANNEL_ID)
    assert late["status"] == "scheduled"
    done = status_at(backend, clock, held, NEXT_MORNING + 1, QUIET_HOURS_CHANNEL_ID)
    assert done["status"] == "delivered"


def test_validity_counts_from_the_end_of_the_quiet_hours(backend, clock):
    clock.now = EVENING
    held = send(backend, text_message(validity=0), QUIET_HOURS_CHANNEL_ID)
    assert status_at(backend, clock, held, NEXT_MORNING - 1, QUIET_HOURS_CHANNEL_ID)["status"] == (
        "scheduled"
    )
    expired = status_at(backend, clock, held, NEXT_MORNING, QUIET_HOURS_CHANNEL_ID)
    assert expired["status"] == "delivery_failed"


# -- short links ---------------------------------------------------------------------------


def test_shorten_links_is_stable_and_keeps_trailing_punctuation():
    text = "Track it: https://x.example/orders/12345?ref=sms. Or http://y.example/a"
    short = shorten_links(text, "go.example.com")
    first, second = short.split()[2], short.split()[4]
    assert first.startswith("https://go.example.com/") and first.endswith(".")
    assert len(first) == len("https://go.example.com/") + 8 + 1
    assert second.startswith("https://go.example.com/")
    assert shorten_links(text, "go.example.com") == short
    assert shorten_links("no links here", "default") == "no links here"
    assert shorten_links("https://x.example/a", "default").startswith(
        f"https://{SHORT_LINK_DOMAIN}/"
    )


def test_short_links_rewrite_the_stored_text(backend):
    payload = text_message("See https://x.example/long/path?id=1 today")
    stored = send(backend, {**payload, "shortLinks": {"domain": "go.example.com"}})
    text = stored["body"]["text"]["text"]
    assert "x.example" not in text and text.startswith("See https://go.example.com/")
    assert text.endswith(" today")
    assert stored["meta"]["extraInformation"]["renderedText"] == text
    assert stored["shortLinks"] == {"domain": "go.example.com"}
    assert payload["body"]["text"]["text"] == "See https://x.example/long/path?id=1 today"


def test_short_links_default_domain_and_without_short_links(backend):
    plain = text_message(text="See https://x.example/a")
    assert send(backend, plain)["body"]["text"]["text"] == "See https://x.example/a"
    stored = send(backend, {**plain, "shortLinks": {"domain": "default"}})
    assert stored["body"]["text"]["text"].startswith(f"See https://{SHORT_LINK_DOMAIN}/")


def test_a_template_with_its_own_short_links_has_its_rendered_text_shortened(backend):
    payload = template_message(shortLinks={"enabled": True, "domain": "go.example.com"})
    payload["template"]["parameters"][0]["value"] = "Ada (https://x.example/profile/ada)"
    rendered = send(backend, payload)["meta"]["extraInformation"]["renderedText"]
    assert "x.example" not in rendered and "https://go.example.com/" in rendered
    off = template_message(shortLinks={"enabled": False, "domain": "go.example.com"})
    off["template"]["parameters"][0]["value"] = "https://x.example/a"
    assert "https://x.example/a" in send(backend, off)["meta"]["extraInformation"]["renderedText"]
