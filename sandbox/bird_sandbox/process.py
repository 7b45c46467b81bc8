"""The sandbox in a process of its own (for demos and benchmarks, where it must not share
the client's interpreter), driven through its control API. Standard library only (and
:mod:`.settings`, which is too)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import urllib.request
from typing import Any

from . import settings


class SandboxProcess:
    """``with SandboxProcess(latency=0.05) as sandbox: ...`` starts ``python -m bird_sandbox``
    on a free port and stops it on exit. It takes :class:`~bird_sandbox.BirdSandbox`'s
    settings (:mod:`.settings`), each passed as its command-line flag; ``reset()`` restores
    them."""

    @settings.with_signature()
    def __init__(self, **given: Any):
        settings.initial(given)  # what the process would refuse fails here, with its error
        self.args = ["--port", "0"]
        for name, value in given.items():
            setting = settings.BY_NAME[name]
            self.args += [setting.flag, setting.cli.format(value)]
        self.process: subprocess.Popen | None = None
        self.base_url = ""
        self.connection_env: dict[str, str] = {}

    def __enter__(self) -> SandboxProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bird_sandbox", *self.args],
            stdout=subprocess.PIPE,
            text=True,
        )
        for line in self.process.stdout:
            if line.startswith("Bird sandbox listening on "):
                self.base_url = line.split()[-1]
            elif line.startswith("export "):
                name, _, value = shlex.split(line[len("export ") :])[0].partition("=")
                self.connection_env = {name: value}
                break
        if not (self.base_url and self.connection_env):
            self.process.kill()
            raise RuntimeError("the sandbox process did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def connection(self) -> dict[str, Any]:
        return json.loads(next(iter(self.connection_env.values())))

    def control(self, method: str, route: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_sandbox/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(answer)

    def messages(self) -> list[dict]:
        return self.control("GET", "messages")["results"]

    def requests(self) -> list[dict]:
        return self.control("GET", "requests")["results"]

    def interactions(self) -> list[dict]:
        return self.control("GET", "interactions")["results"]

    def webhook_attempts(self) -> list[dict]:
        return self.control("GET", "webhooks/deliveries")["results"]

    def wait_webhooks_idle(self, timeout: float = 5.0) -> bool:
        return self.control("POST", "webhooks/wait", {"timeout": timeout})["idle"]

    def receive(self, from_number: str, text: str, *, channel_id: str | None = None) -> dict:
        """Store an SMS from ``from_number`` through ``/_sandbox/inbound``; the message."""
        body = {"from": from_number, "text": text}
        if channel_id is not None:
            body["channel_id"] = channel_id
        return self.control("POST", "inbound", body)

    def store_sent(self, count: int, *, channel_id: str | None = None) -> int:
        """Store `count` outgoing SMS at once through ``/_sandbox/sent``; how many."""
        body: dict[str, Any] = {"count": count}
        if channel_id is not None:
            body["channel_id"] = channel_id
        return self.control("POST", "sent", body)["stored"]

    def configure(self, **fields: Any) -> dict:
        """Change settings through ``/_sandbox/config``; the whole configuration."""
        return self.control("POST", "config", fields)

    def reset(self) -> None:
        self.control("POST", "reset", {})
