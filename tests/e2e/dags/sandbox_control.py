"""The local sandbox's control API, for the test DAGs' callbacks: `control(method, route, body)`
calls ``/_sandbox/<route>`` on the sandbox that the Bird connection points at."""

from __future__ import annotations

import json
import os
import urllib.request


def control(method: str, route: str, body: dict | None = None) -> None:
    host = json.loads(os.environ["AIRFLOW_CONN_BIRD_DEFAULT"])["host"]
    request = urllib.request.Request(
        f"{host}/_sandbox/{route}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()
