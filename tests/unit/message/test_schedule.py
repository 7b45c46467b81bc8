"""The window math and the checks of send_at and local_window: pure, with "now" given."""

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pendulum
import pytest

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.message.bodies import text_body
from airflow_provider_sms.message.outgoing import Outgoing
from airflow_provider_sms.message.schedule import (
    Window,
    due_hours,
    earliest_in_window,
    plan,
    zones_of,
)

NOW = datetime(2026, 12, 2, 7, 0, 0, tzinfo=UTC)  # 08:00 Amsterdam, 23:00 LA, 16:00 Tokyo
CHANNEL = "6b52e9cb-2ddf-45b5-8aea-62882e999fb7"
NL, LA, TOKYO = "+31612345678", "+14155550123", "+819012345678"
AU_MOBILE = "+61412345678"  # Australia's mobiles: eight zones, from Perth to Lord Howe
US_TOLL_FREE = "+18005550123"  # every North American zone, Guam and Honolulu included
UNKNOWN = "+80012345678"  # international freephone: Etc/Unknown


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _earliest_by_minutes(zone: str, start: datetime, window: Window) -> datetime:
    """The reference answer: minute by minute."""
    moment = start.replace(second=0, microsecond=0)
    if moment < start:
        moment += timedelta(minutes=1)
    while not window.holds(moment.astimezone(ZoneInfo(zone)).time()):
        moment += timedelta(minutes=1)
    return moment


def test_zones_of_the_numbers():
    assert zones_of(NL) == ("Europe/Amsterdam",)
    assert zones_of(LA) == ("America/Los_Angeles",)
    assert zones_of(TOKYO) == ("Asia/Tokyo",)
    assert len(zones_of(AU_MOBILE)) > 1
    assert zones_of(UNKNOWN) == ("Etc/Unknown",)


@pytest.mark.parametrize(
    "now",
    [
        NOW,
        NOW + timedelta(hours=5, minutes=17, seconds=3),
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
    ],
)
def test_three_zones_business_hours_earliest_to_the_minute(now):
    window = Window(time(9), time(17))
    schedule = plan([NL, LA, TOKYO], local_window=("09:00", "17:00"), now=now)
    for number, zone in [
        (NL, "Europe/Amsterdam"),
        (LA, "America/Los_Angeles"),
        (TOKYO, "Asia/Tokyo"),
    ]:
        expected = _earliest_by_minutes(zone, now, window)
        due = schedule.due_for(number)
        if expected == now.replace(second=0, microsecond=0) or expected < now + timedelta(
            minutes=1
        ):
            assert due is None  # inside the window now: sent at once
            continue
        assert due is not None
        moment = _parse(due)
        assert moment == expected
        assert time(9) <= moment.astimezone(ZoneInfo(zone)).time() < time(17)


def test_the_example_times():
    schedule = plan([NL, LA, TOKYO], local_window=("09:00", "17:00"), now=NOW)
    assert schedule.due == {
        NL: "2026-12-02T08:00:00.000Z",  # 09:00 in Amsterdam
        LA: "2026-12-02T17:00:00.000Z",  # 09:00 in Los Angeles
    }  # Tokyo is at 16:00: inside, sent at once
    assert schedule.rules == {"single": 3}


def test_from_send_at_when_both_are_given():
    schedule = plan(
        [NL, TOKYO], send_at="2026-12-03T07:30:00Z", local_window=("09:00", "17:00"), now=NOW
    )
    assert schedule.due[NL] == "2026-12-03T08:00:00.000Z"
    assert schedule.due[TOKYO] == "2026-12-03T07:30:00.000Z"  # 16:30 Tokyo: send_at itself


def test_window_across_midnight():
    window = ("22:00", "06:00")
    schedule = plan([NL, LA, TOKYO], local_window=window, now=NOW)
    assert schedule.due[NL] == "2026-12-02T21:00:00.000Z"  # 22:00 Amsterdam
    assert LA not in schedule.due  # 23:00 in LA: inside
    assert schedule.due[TOKYO] == "2026-12-02T13:00:00.000Z"  # 22:00 Tokyo
    assert Window.check(window).holds(time(2))
    assert not Window.check(window).holds(time(12))


NEW_YORK = "+12125550123"


def test_a_window_opening_in_a_spring_forward_gap_opens_when_the_gap_ends():
    # New York's clocks go from 02:00 to 03:00 on 2027-03-14: 02:30 never happens that day,
    # 03:00-03:30 does, and is inside the window.
    now = datetime(2027, 3, 13, 12, 0, tzinfo=UTC)
    schedule = plan([NEW_YORK], local_window=("02:30", "03:30"), now=now)
    assert schedule.due == {NEW_YORK: "2027-03-14T07:00:00.000Z"}  # 03:00 EDT


@pytest.mark.parametrize(
    ("zone", "window", "now"),
    [
        ("America/New_York", ("02:30", "03:30"), datetime(2027, 3, 13, 12, tzinfo=UTC)),
        ("America/New_York", ("02:10", "02:50"), datetime(2027, 3, 13, 12, tzinfo=UTC)),
        ("America/New_York", ("02:30", "01:00"), datetime(2027, 3, 14, 5, tzinfo=UTC)),
        ("Europe/Amsterdam", ("02:00", "02:45"), datetime(2027, 3, 27, 12, tzinfo=UTC)),
        ("Europe/Amsterdam", ("02:59", "09:00"), datetime(2027, 3, 27, 12, tzinfo=UTC)),
        ("Australia/Lord_Howe", ("02:10", "03:00"), datetime(2026, 10, 3, 3, tzinfo=UTC)),
        # Fall back: 01:30 happens twice; the first counts.
        ("America/New_York", ("01:30", "01:45"), datetime(2026, 11, 1, 4, tzinfo=UTC)),
    ],
)
def test_windows_around_a_clock_change_open_at_their_first_instant(zone, window, now):
    checked = Window.check(window)
    when, rule = earliest_in_window((zone,), checked, now, now + timedelta(days=35))
    assert rule == "single"
    assert when == _earliest_by_minutes(zone, now, checked)


def test_region_with_several_zones_gets_a_moment_inside_all():
    schedule = plan([AU_MOBILE], local_window=("09:00", "17:00"), now=NOW)
    moment = _parse(schedule.due[AU_MOBILE])
    for zone in zones_of(AU_MOBILE):
        assert time(9) <= moment.astimezone(ZoneInfo(zone)).time() < time(17), zone
    assert schedule.rules == {"all": 1}


def test_region_without_a_common_moment_uses_the_most_zones():
    schedule = plan([US_TOLL_FREE], local_window=("09:00", "10:00"), now=NOW)
    assert schedule.rules == {"most": 1}
    moment = _parse(schedule.due[US_TOLL_FREE])
    inside = [
        z
        for z in zones_of(US_TOLL_FREE)
        if time(9) <= moment.astimezone(ZoneInfo(z)).time() < time(10)
    ]
    assert len(inside) > 1
    assert moment - NOW < timedelta(days=2)


def test_unknown_zone_falls_back_to_utc():
    schedule = plan([UNKNOWN], local_window=("09:00", "17:00"), now=NOW)
    assert schedule.due[UNKNOWN] == "2026-12-02T09:00:00.000Z"
    assert schedule.rules == {"unknown": 1}


def test_every_due_time_within_35_days():
    send_at = NOW + timedelta(days=34)
    schedule = plan(
        [NL, LA, TOKYO, AU_MOBILE], send_at=send_at, local_window=("09:00", "17:00"), now=NOW
    )
    for due in schedule.due.values():
        assert _parse(due) <= NOW + timedelta(days=35)


def test_no_moment_before_the_limit_is_refused():
    with pytest.raises(InvalidMessageError, match="^local_window: no moment"):
        plan(
            [NL],
            send_at=NOW + timedelta(days=34, hours=23, minutes=30),
            local_window=("09:00", "09:01"),
            now=NOW,
        )


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
        datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam")),
        datetime(2026, 12, 3, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        pendulum.datetime(2026, 12, 3, 8, 0, tz="UTC"),
        "2026-12-03T08:00:00Z",
        "2026-12-03T09:00:00.000+01:00",
        "2026-12-03T08:00:00+00:00",
    ],
)
def test_send_at_forms(value):
    schedule = plan([NL], send_at=value, now=NOW)
    assert schedule.due == {NL: "2026-12-03T08:00:00.000Z"}
    assert schedule.soon == 0


def test_send_at_soon_is_counted():
    schedule = plan([NL, LA], send_at=NOW + timedelta(minutes=5), now=NOW)
    assert schedule.soon == 2
    assert plan([NL], send_at=NOW - timedelta(seconds=30), now=NOW).due  # within a minute


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (datetime(2026, 12, 3, 8, 0), "naive"),
        (pendulum.naive(2026, 12, 3, 8, 0), "naive"),
        ("2026-12-03T08:00:00", "RFC 3339"),
        ("tomorrow at nine", "RFC 3339"),
        ("2026-13-03T08:00:00Z", "not a valid time"),
        ("", "RFC 3339"),
        (NOW - timedelta(minutes=2), "in the past"),
        ("2026-12-01T08:00:00Z", "in the past"),
        (NOW + timedelta(days=35, minutes=1), "35 days"),
        ("2027-02-01T00:00:00Z", "35 days"),
        (1764662400, "expected an aware datetime"),
        (True, "expected an aware datetime"),
    ],
)
def test_bad_send_at(value, problem):
    with pytest.raises(InvalidMessageError, match="^send_at: ") as info:
        plan([NL], send_at=value, now=NOW)
    assert problem in str(info.value)
    assert info.value.field == "send_at"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (("09:00", "09:00"), "empty"),
        ((time(9), time(9)), "empty"),
        (("9:00", "17:00"), "HH:MM"),
        (("09:00", "24:00"), "HH:MM"),
        (("09:60", "17:00"), "HH:MM"),
        (("09:00",), "pair"),
        (("09:00", "12:00", "17:00"), "pair"),
        ("09:00-17:00", "pair"),
        ((9, 17), "expected HH:MM"),
        (("09:00", None), "expected HH:MM"),
        ((time(9, tzinfo=UTC), time(17)), "no zone"),
        ({"start": "09:00"}, "pair"),
    ],
)
def test_bad_local_window(value, problem):
    with pytest.raises(InvalidMessageError, match="^local_window: ") as info:
        plan([NL], local_window=value, now=NOW)
    assert problem in str(info.value)


def test_outgoing_requests_and_digest_carry_the_due_times():
    def build(**kwargs):
        return Outgoing.build(
            kind="SMS",
            recipients=[NL, LA, TOKYO],
            channel_id=CHANNEL,
            content={"body": text_body("Hi")},
            now=NOW,
            **kwargs,
        )

    plain, windowed = build(), build(local_window=("09:00", "17:00"))
    assert "scheduledFor" not in plain.request(NL)
    assert windowed.request(NL)["scheduledFor"] == "2026-12-02T08:00:00.000Z"
    assert "scheduledFor" not in windowed.request(TOKYO)
    assert plain.digest != windowed.digest
    assert windowed.digest == build(local_window=("09:00", "17:00")).digest
    assert (
        build(send_at="2026-12-03T08:00:00Z").digest != build(send_at="2026-12-03T09:00:00Z").digest
    )
    assert due_hours(windowed.schedule.due_for(r) for r in windowed.recipients) == {
        "2026-12-02T08Z": 1,
        "2026-12-02T17Z": 1,
        "now": 1,
    }


def test_outgoing_checks_the_schedule_before_the_recipients():
    with pytest.raises(InvalidMessageError, match="^send_at: "):
        Outgoing.build(
            kind="SMS",
            recipients=["not a number"],
            channel_id=CHANNEL,
            content={"body": text_body("Hi")},
            send_at="soon",
            now=NOW,
        )


@pytest.mark.parametrize(
    "number",
    [NL, LA, TOKYO, AU_MOBILE, US_TOLL_FREE, "+12025550123", "+5511912345678", "+79161234567"],
)
def test_zones_from_normalizing_are_phonenumbers_own(number):
    from airflow_provider_sms.message.recipients import normalize_recipients

    zones: dict = {}
    normalize_recipients([number], zones=zones, allow_premium_numbers=True)
    assert zones == {number: zones_of(number)}
