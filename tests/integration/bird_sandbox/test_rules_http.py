"""Validity, quiet hours and short links over HTTP (bird_sandbox/rules.py)."""

from __future__ import annotations

import time

from sandbox_support import channel_url, send, text_message

from bird_sandbox import QUIET_HOURS_CHANNEL_ID, SHORT_LINK_DOMAIN, BirdSandbox
from bird_sandbox.rules import quiet_hours_end


def test_a_message_with_validity_zero_ends_delivery_failed(http):
    with BirdSandbox() as sandbox:  # statuses progress
        answer = send(sandbox, http, text_message(validity=0))
        assert answer.status_code == 202 and answer.json()["validity"] == 0
        time.sleep(0.05)
        message = http.get(channel_url(sandbox, suffix=f"/messages/{answer.json()['id']}"))
        assert message.json()["status"] == "delivery_failed"
        assert message.json()["reason"] == "details: validity expired; reason: expired"


def test_the_quiet_hours_channel_answers_scheduled_within_them(sandbox, http):
    before = time.time()
    answer = send(sandbox, http, text_message(), QUIET_HOURS_CHANNEL_ID)
    held = quiet_hours_end(QUIET_HOURS_CHANNEL_ID, {}, before) is not None
    assert held == (quiet_hours_end(QUIET_HOURS_CHANNEL_ID, {}, time.time()) is not None)
    assert answer.status_code == 202
    assert answer.json()["status"] == ("scheduled" if held else "accepted")
    urgent = send(sandbox, http, text_message(ignoreQuietHours=True), QUIET_HOURS_CHANNEL_ID)
    assert urgent.json()["status"] == "accepted" and urgent.json()["ignoreQuietHours"] is True


def test_short_links_rewrite_the_stored_text(sandbox, http):
    payload = {**text_message("Track: https://x.example/p/42"), "shortLinks": {"domain": "default"}}
    answer = send(sandbox, http, payload).json()
    assert answer["body"]["text"]["text"].startswith(f"Track: https://{SHORT_LINK_DOMAIN}/")
    [stored] = sandbox.messages
    assert stored["body"] == answer["body"]
    assert sandbox.requests[-1].json["body"]["text"]["text"] == "Track: https://x.example/p/42"
