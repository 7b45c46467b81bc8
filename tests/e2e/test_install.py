"""The README's install section, run as written: in a fresh clone, into a new virtual
environment, it installs Airflow 3.3.2 and the provider, which Airflow then lists."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def install_commands() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    [first, *_] = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    return first


def test_the_readmes_install_section_installs_the_provider_beside_airflow(tmp_path):
    commands = install_commands()
    assert "requirements/constraints-3.3.txt" in commands and "apache-airflow==3.3.2" in commands
    clone, venv = tmp_path / "clone", tmp_path / "venv"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
    }
    env.pop("PYTHONPATH", None)
    subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=clone, env=env, check=True)
    version = subprocess.run(
        [venv / "bin" / "airflow", "version"], env=env, capture_output=True, text=True, check=True
    )
    assert version.stdout.strip().splitlines()[-1] == "3.3.2"
    listed = subprocess.run(
        [venv / "bin" / "airflow", "providers", "list", "-o", "plain"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.search(r"^airflow-provider-sms\s", listed.stdout, re.MULTILINE), listed.stdout
