"""Helpers shared by the test tiers (tests import it as `support`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sms.message.outgoing import reference_for, task_seed
from bird_sandbox import schema as bird_schema

ROOT = Path(__file__).resolve().parents[1]


def needs_airflow(minor: str, feature: str):
    """For a test module about a feature that Airflow `minor` brought: on an older Airflow,
    skip the module (before its imports of the feature fail), saying why; its mark
    otherwise. Tests of such a feature in other modules carry the mark alone."""
    import pytest

    from airflow_provider_sms.compat import AIRFLOW_VERSION

    needed = tuple(int(part) for part in minor.split("."))
    if AIRFLOW_VERSION[: len(needed)] < needed:
        installed = ".".join(map(str, AIRFLOW_VERSION))
        pytest.skip(
            f"needs Airflow {minor} ({feature}); this is {installed}", allow_module_level=True
        )
    return pytest.mark.needs_airflow(minor, feature=feature)


HITL = "human-in-the-loop tasks"
# Asset watchers (InboundMessageTrigger) and Airflow 3's API server (the webhook receiver).
WATCHERS_FEATURE = "asset watchers"
WATCHERS = pytest.mark.needs_airflow("3.0", feature=WATCHERS_FEATURE)
API_SERVER = "Airflow 3's API server"

# Airflow 3.0's `airflow dags test` runs a task under an in-process supervisor whose logger is
# left at debug, so it prints every message the task sends it, each secret the task masks
# among them (docs/compatibility.md); 3.1 no longer does.
_AIRFLOW_3_0_SUPERVISOR_ECHO = re.compile(
    r"^.*\[debug\s*\] Sending request\s+msg=MaskSecret\(.*$", re.M
)


def without_airflow_3_0_echo(output: str) -> str:
    """`output` less the lines in which Airflow 3.0's own `dags test` echoes a masked secret
    (on 3.1 and newer, `output` as it is): a leak check over the rest holds on every minor."""
    from airflow_provider_sms.compat import AIRFLOW_V_3_1_PLUS

    return output if AIRFLOW_V_3_1_PLUS else _AIRFLOW_3_0_SUPERVISOR_ECHO.sub("", output)


EXAMPLE_DAGS = ROOT / "example_dags"
TEST_DAGS = Path(__file__).resolve().parent / "e2e" / "dags"


class MemoryStore:
    """Stands in for Airflow's task state store, which only a running task instance has, and
    (`aget`, `aset`) for what the triggerer hands a watcher as ``asset_state_store``; values
    go through JSON as they would in the store."""

    def __init__(self):
        self.values = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, **_):
        self.values[key] = json.loads(json.dumps(value))

    async def aget(self, key, default=None):
        return self.get(key, default)

    async def aset(self, key, value):
        self.set(key, value)


# Every way the sandbox can list messages where Bird's documentation is silent (the first is
# the default): reconciliation must be right, or say it cannot tell, under each.
LISTINGS = {
    "newest_first": {},
    "oldest_first": {"order": "oldest_first"},
    "other_token_field": {"page_token_field": "next"},
    "no_token": {"page_token_field": None},
    "full_last_page_no_token": {"full_last_page_token": False},
    "batch_filter_ignored": {"batch_filter": False},
}


def numbers(count: int, start: int = 20000000) -> list[str]:
    """`count` distinct Dutch mobile numbers in E.164."""
    return [f"+316{start + i}" for i in range(count)]


def listed_after_a_send(sandbox, *, sends: bool = True) -> bool:
    """Whether something listed the channel's messages after a send's POST (any listing, for a
    DAG that `sends` nothing): a sensor or trigger polling (before 3.3 a send lists the channel
    itself first, to find what an earlier try sent)."""
    sent = not sends
    for request in sandbox.requests:
        if request.path.endswith("/messages"):
            if request.method == "POST":
                sent = True
            elif sent and request.method == "GET":
                return True
    return False


def receiver(message: dict) -> str:
    return message["receiver"]["contacts"][0]["identifierValue"]


def texts(sandbox) -> list[tuple[str, str]]:
    """(recipient, text) of each SMS the sandbox stored."""
    return [(receiver(m), m["body"]["text"]["text"]) for m in sandbox.messages]


def alert_reference(dag_id: str, run_id: str, task_id: str, try_number: int, recipient: str):
    """The reference SmsNotifier puts on an alert about that task instance's try."""
    seed = task_seed(dag_id, run_id, task_id, -1, "notification", try_number)
    return reference_for(seed, recipient)


# -- Bird's own schemas, vendored in the sandbox: the whole schema, unions tried branch by
# branch, as a plain validator would (the sandbox's checks are a separate implementation).


def load_create_message_validator():
    """A jsonschema validator for Bird's ``CreateMessage``."""
    return bird_schema.create_message_validator()


def load_create_batch_validator():
    """A jsonschema validator for Bird's ``CreateBatchMessages`` (items: ``CreateMessage``)."""
    return bird_schema.create_batch_validator()


def _errors(validator, payload: Any) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(payload)
    ]


def bird_errors(payload: Any) -> list[str]:
    """Bird-schema violations of a ``CreateMessage`` payload; empty when valid."""
    return _errors(load_create_message_validator(), payload)


def bird_batch_errors(payload: Any) -> list[str]:
    """Bird-schema violations of a ``CreateBatchMessages`` payload; empty when valid."""
    return _errors(load_create_batch_validator(), payload)


def assert_valid_create_message(payload: Any) -> None:
    """Fail the test when Bird's schema rejects ``payload``."""
    errors = bird_errors(payload)
    assert not errors, "payload violates Bird's CreateMessage schema:\n" + "\n".join(errors)


def assert_valid_create_batch(payload: Any) -> None:
    """Fail the test when Bird's schema rejects a batch ``payload`` or any of its items."""
    errors = bird_batch_errors(payload)
    assert not errors, "payload violates Bird's CreateBatchMessages schema:\n" + "\n".join(errors)


CONNECTION_DOC = ROOT / "docs" / "connection.md"
_PLACEHOLDERS = {
    "<access key>": "doc-example-access-key",
    "<workspace uuid>": "5d31ef73-de34-4006-a7ea-3b91aaa8ef9c",
    "<channel uuid>": "b6679638-ceb5-4d0d-9af2-ac6bc33b01fd",
}


def connection_doc_examples() -> dict[str, str]:
    """Every `export AIRFLOW_CONN_...='...'` in the bash blocks of docs/connection.md:
    variable name -> value, placeholders filled in."""
    import re
    import shlex

    text = CONNECTION_DOC.read_text()
    examples = {}
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        words = shlex.split(block)
        for i, word in enumerate(words):
            if word == "export":
                name, _, value = words[i + 1].partition("=")
                for placeholder, filled in _PLACEHOLDERS.items():
                    value = value.replace(placeholder, filled)
                examples[name] = value
    return examples


def png(size: int = 0) -> bytes:
    """A real 1x1 PNG, padded with a trailing chunk to `size` bytes when given."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\0\xff\x80\x00"))
    end = chunk(b"IEND", b"")
    padding = max(0, size - len(head) - len(pixels) - len(end) - 12)
    extra = chunk(b"tEXt", b"c\0" + b"x" * (padding - 2)) if padding else b""
    return head + pixels + extra + end


def killed_then_run_again(airflow_home, sandbox, dag_id: str, logical_date: str, env: dict):
    """`airflow dags test dag_id`, killed without warning (SIGKILL to its process group) once
    the sandbox holds 300 messages, then its task `send` run again with `airflow tasks test`
    in the same DAG run. Returns the second run's exit code and output (stdout and stderr);
    asserts the kill landed part-way through the send's 1,000 recipients."""
    import os
    import signal
    import subprocess
    import time

    airflow = airflow_home.airflow_command()
    first = subprocess.Popen(
        [*airflow, "dags", "test", dag_id, logical_date],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(sandbox.backend.messages()) < 300 and time.monotonic() < deadline:
        assert first.poll() is None, "the send finished before it could be killed"
        time.sleep(0.01)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert 300 <= len(sandbox.backend.messages()) < 1000
    sandbox.latency = 0
    again = subprocess.run(
        [*airflow, "tasks", "test", dag_id, "send", logical_date],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return again.returncode, again.stdout + again.stderr


def debian_install(package: str, what: str) -> None:
    """Install one of Debian's packages (as root) for a server the tests run; `what` names
    the server in the error when that is not possible."""
    if os.geteuid() != 0:
        raise RuntimeError(f"{what} is not installed: apt-get install {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
        check=True,
        env=env,
        capture_output=True,
    )


def assert_a_429_holds_the_shared_timeline_back(throttled, other, interval: float) -> None:
    """Two RateLimiters on one shared timeline (slots `interval` apart; the first with
    pause=5): a 429 met by the first holds back both, and pauses only its request."""
    import time

    throttled.acquire()
    # The request that met the 429 waits the pause before it is sent again...
    assert throttled.throttled() == 5
    started = time.monotonic()
    other.acquire()
    # After the throttled sender's slot, the slots it left unused: then the other's.
    assert time.monotonic() - started >= (1 + throttled.SLOTS_LEFT_PER_429) * interval - 0.02
    started = time.monotonic()
    throttled.acquire()
    # ...while the throttled sender's other requests take the next slot on the timeline.
    assert time.monotonic() - started < 2 * interval + 0.2


@contextlib.asynccontextmanager
async def event_loop_delays(tick: float = 0.01):
    """How late each tick of a heartbeat task came while the block ran: the event loop's
    stalls (a blocking call in a trigger shows as one long delay)."""
    delays: list[float] = []

    async def heartbeat():
        while True:
            started = time.monotonic()
            await asyncio.sleep(tick)
            delays.append(time.monotonic() - started - tick)

    beat = asyncio.create_task(heartbeat())
    try:
        yield delays
    finally:
        beat.cancel()
