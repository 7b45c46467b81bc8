"""The settings, declared once (bird_sandbox/settings.py): the command line, SandboxProcess,
BirdSandbox, the backend and the gateway, the control API and docs/sandbox.md each cover
exactly the table, and take, show and refuse each value alike."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

from bird_sandbox import BirdSandbox, SandboxBackend, SandboxProcess
from bird_sandbox.__main__ import server_parser
from bird_sandbox.gateway import Gateway
from bird_sandbox.settings import BY_NAME, SETTINGS

NAMES = [s.name for s in SETTINGS]
DOCS = Path(__file__).resolve().parents[3] / "docs" / "sandbox.md"

# A value each setting can take other than its default, and one it refuses. (A sandbox that
# is never started holds no socket and no thread: the tests below build them freely.)
GOOD = {
    "latency": 0.25,
    "max_posts_per_second": 7,
    "reject_recipients": {"+15550000002", "+15550000003"},
    "blocked_destinations": {"regions": ["NL", "BE"], "answer": "403"},
    "status_delays": {"processing": 1, "sent": 2.5, "delivered": 3},
    "listing": {"order": "oldest_first"},
    "upload": {"media_host": "other"},
    "reply_delay": 0.5,
    "webhook_envelope": "extended",
    "webhook_timeout": 0.5,
    "webhook_retry_delays": [0.1, 0.2, 0.4],
    "webhook_deliveries": "paused",
}
BAD = {
    "latency": -1,
    "max_posts_per_second": 0,
    "reject_recipients": "+15550000002",
    "blocked_destinations": {"answer": "451"},
    "status_delays": {"sent": -1},
    "listing": {"order": "sideways"},
    "upload": {"presign_status": 202},
    "reply_delay": float("nan"),
    "webhook_envelope": "xml",
    "webhook_timeout": 0,
    "webhook_retry_delays": "1,2",
    "webhook_deliveries": "off",
}


def _shown(name: str, value: object) -> object:
    """What reading the setting gives once ``value`` is set from the defaults."""
    setting = BY_NAME[name]
    return setting.show(setting.check(value, None))


def test_the_examples_here_cover_the_table():
    assert list(GOOD) == list(BAD) == NAMES
    for name, value in GOOD.items():
        assert _shown(name, value) != _shown(name, BY_NAME[name].default), name


def _keywords(callable_) -> dict[str, object]:
    parameters = inspect.signature(callable_).parameters.values()
    return {p.name: p.default for p in parameters if p.kind == p.KEYWORD_ONLY}


def test_each_constructor_takes_the_settings_of_its_part_with_their_defaults():
    defaults = {s.name: s.default for s in SETTINGS}
    assert _keywords(BirdSandbox) == {
        "allow_non_loopback": False,
        "clock": _keywords(SandboxBackend)["clock"],
        **defaults,
    }
    assert _keywords(SandboxProcess) == defaults
    assert _keywords(SandboxBackend) == {
        "clock": _keywords(SandboxBackend)["clock"],
        **{s.name: s.default for s in SETTINGS if s.owner == "backend"},
    }
    assert _keywords(Gateway) == {s.name: s.default for s in SETTINGS if s.owner == "gateway"}
    for build in (BirdSandbox, SandboxBackend, SandboxProcess):
        with pytest.raises(TypeError, match="speed"):
            build(speed=1)


def test_the_command_line_has_a_flag_for_each_setting_and_no_other():
    flags = {
        action.dest: action.option_strings
        for action in server_parser()._actions
        if action.dest not in ("help", "host", "port", "magic_recipients")
    }
    assert flags == {s.name: [s.flag] for s in SETTINGS}


@pytest.mark.parametrize("name", NAMES)
def test_sandbox_process_passes_each_setting_as_the_command_line_reads_it(name):
    args = SandboxProcess(**{name: GOOD[name]}).args
    parsed = vars(server_parser().parse_args(args))
    assert {k: v for k, v in parsed.items() if k in BY_NAME} == {name: parsed[name]}
    assert _shown(name, parsed[name]) == _shown(name, GOOD[name])
    default = BY_NAME[name].default
    parsed = vars(server_parser().parse_args(SandboxProcess(**{name: default}).args))
    assert _shown(name, parsed[name]) == _shown(name, default)


@pytest.mark.parametrize("name", NAMES)
def test_the_sandbox_takes_shows_and_restores_each_setting(name):
    sandbox = BirdSandbox(**{name: GOOD[name]})
    assert getattr(sandbox, name) == _shown(name, GOOD[name])
    setattr(sandbox, name, BY_NAME[name].default)
    assert getattr(sandbox, name) == _shown(name, BY_NAME[name].default)
    sandbox.reset()
    assert getattr(sandbox, name) == _shown(name, GOOD[name])
    part = sandbox.gateway if BY_NAME[name].owner == "gateway" else sandbox.backend
    assert getattr(part, name) == getattr(sandbox, name)
    assert vars(BirdSandbox)[name].__doc__ == BY_NAME[name].doc


@pytest.mark.parametrize("name", NAMES)
def test_each_place_refuses_what_the_setting_refuses(name):
    with pytest.raises(ValueError, match=name):
        BirdSandbox(**{name: BAD[name]})
    with pytest.raises(ValueError, match=name):
        SandboxProcess(**{name: BAD[name]})
    sandbox = BirdSandbox()
    with pytest.raises(ValueError, match=name):
        setattr(sandbox, name, BAD[name])
    with pytest.raises(ValueError, match=name):
        sandbox.gateway.configure(**{name: BAD[name]})
    assert getattr(sandbox, name) == _shown(name, BY_NAME[name].default)


def _control(sandbox: BirdSandbox, method: str, body: dict | None = None) -> tuple[int, dict]:
    """The control API's config route, through the gateway (no sockets)."""
    headers = {"Content-Type": "application/json"}
    data = b"" if body is None else json.dumps(body).encode()
    status, _, answer = sandbox.gateway.handle(method, "/_sandbox/config", {}, headers, data)
    return status, json.loads(json.dumps(answer))


def test_the_control_api_shows_and_changes_exactly_the_settings():
    sandbox = BirdSandbox()
    status, config = _control(sandbox, "GET")
    assert status == 200 and list(config) == NAMES
    assert config["reject_recipients"] == [] and config["listing"] == sandbox.listing
    changed = {name: sorted(v) if isinstance(v, set) else v for name, v in GOOD.items()}
    status, config = _control(sandbox, "POST", changed)
    assert status == 200
    for name in NAMES:
        assert getattr(sandbox, name) == _shown(name, GOOD[name])
        shown = BY_NAME[name].as_json(getattr(sandbox, name))
        assert config[name] == json.loads(json.dumps(shown))
    status, answer = _control(sandbox, "POST", {"speed": 1})
    assert status == 400 and "speed" in answer["message"]
    assert sandbox.gateway.config() == _control(sandbox, "GET")[1]


def _docs_table() -> list[list[str]]:
    """The rows of docs/sandbox.md's settings table, as cells."""
    section = DOCS.read_text().split("\n### Settings\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_the_documentation_lists_each_setting_with_its_flag():
    rows = _docs_table()
    assert [re.fullmatch(r"`(\w+)`", row[0]).group(1) for row in rows] == NAMES
    assert [row[2].strip("`").split()[0] for row in rows] == [s.flag for s in SETTINGS]
