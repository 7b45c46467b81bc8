"""The opt-in pytest plugin and its bird_sandbox fixture (bird_sandbox/pytest_plugin.py), and a
cheap package import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import requests
from sandbox_support import channel_url

from bird_sandbox import (
    ACCESS_KEY,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}


def test_pytest_fixture_sets_connection_env(bird_sandbox):
    value = os.environ["AIRFLOW_CONN_BIRD_DEFAULT"]
    assert json.loads(value) == bird_sandbox.connection()
    channel = requests.get(channel_url(bird_sandbox), headers=AUTH)
    assert channel.status_code == 200


def test_importing_the_sandbox_package_stays_cheap():
    code = (
        "import sys, bird_sandbox, bird_sandbox.pytest_plugin;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'airflow')"
        " or m.startswith('bird_sandbox.')"
        " or m.startswith('airflow_provider_sms.bird.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == [
        "['bird_sandbox.catalogue',",
        "'bird_sandbox.pytest_plugin']",
    ]


PLUGIN = "bird_sandbox.pytest_plugin"


# The pytest plugin ---------------------------------------------------------------------------

_USES_FIXTURE = """
def test_uses_the_fixture(bird_sandbox):
    assert bird_sandbox.base_url.startswith("http://127.0.0.1:")
"""


def _pytest(project, *args: str) -> subprocess.CompletedProcess:
    (project / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_plugin_does_not_load_into_a_project_that_did_not_ask(tmp_path):
    (tmp_path / "test_other.py").write_text(
        textwrap.dedent(
            """
            def test_nothing_of_ours_is_loaded(request):
                plugins = request.config.pluginmanager
                assert not any(
                    name in (getattr(p, "__name__", "") or "")
                    for p in plugins.get_plugins()
                    for name in ("bird_sandbox", "airflow_provider_sms")
                )
                assert "bird_sandbox" not in request.fixturenames
            """
        )
    )
    (tmp_path / "test_uses.py").write_text(_USES_FIXTURE)
    result = _pytest(tmp_path)
    assert "fixture 'bird_sandbox' not found" in result.stdout, result.stdout
    assert "1 passed, 1 error" in result.stdout, result.stdout


def test_the_plugin_loads_with_dash_p(tmp_path):
    (tmp_path / "test_uses.py").write_text(_USES_FIXTURE)
    result = _pytest(tmp_path, "-p", PLUGIN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_plugin_loads_with_pytest_plugins_in_a_conftest(tmp_path):
    (tmp_path / "conftest.py").write_text(f"pytest_plugins = [{PLUGIN!r}]\n")
    (tmp_path / "test_uses.py").write_text(_USES_FIXTURE)
    result = _pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
