"""Helpers shared by the test tiers (tests import it as `support`)."""

from __future__ import annotations

import json
from pathlib import Path

from airflow_provider_sms.model import reference_for, task_seed

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = ROOT / "example_dags"
TEST_DAGS = Path(__file__).resolve().parent / "e2e" / "dags"


class MemoryStore:
    """Stands in for Airflow's task state store, which only a running task instance has;
    values go through JSON as they would in the store."""

    def __init__(self):
        self.values = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, **_):
        self.values[key] = json.loads(json.dumps(value))


def numbers(count: int, start: int = 20000000) -> list[str]:
    """`count` distinct Dutch mobile numbers in E.164."""
    return [f"+316{start + i}" for i in range(count)]


def receiver(message: dict) -> str:
    return message["receiver"]["contacts"][0]["identifierValue"]


def texts(sandbox) -> list[tuple[str, str]]:
    """(recipient, text) of each SMS the sandbox stored."""
    return [(receiver(m), m["body"]["text"]["text"]) for m in sandbox.messages]


def alert_reference(dag_id: str, run_id: str, task_id: str, try_number: int, recipient: str):
    """The reference SmsNotifier puts on an alert about that task instance's try."""
    seed = task_seed(dag_id, run_id, task_id, -1, "notification", try_number)
    return reference_for(seed, recipient)
