"""The metrics the provider publishes are the ones its production page documents."""

import re
from pathlib import Path
from types import SimpleNamespace

from airflow_provider_sms import metrics

PAGE = Path(__file__).parents[2] / "docs" / "production.md"


def test_the_production_page_documents_exactly_the_metrics_published():
    section = PAGE.read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `bird\.([a-z_.<>]+)` \|", section, re.MULTILINE))
    assert documented == {*metrics.COUNTERS, *metrics.TIMERS}


def test_tags_name_the_connection_the_task_and_the_kind_of_message():
    ti = SimpleNamespace(dag_id="orders", task_id="remind")
    assert metrics.tags("template message", "bird_eu", {"ti": ti}) == {
        "conn_id": "bird_eu",
        "kind": "template_message",
        "dag_id": "orders",
        "task_id": "remind",
    }
    assert metrics.tags(None, "bird_default", {}) == {"conn_id": "bird_default"}
