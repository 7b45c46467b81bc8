"""Run real Airflow (`airflow dags test`, embedded SQLite) in a throw-away home, for DAG tests
and demos against the local sandbox. Standard library only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


class AirflowHome:
    """A disposable AIRFLOW_HOME whose `airflow` commands run in subprocesses.

    :param path: the folder to use; emptied first.
    :param dags_folder: where the DAG files are.
    :param env: extra environment (e.g. ``AIRFLOW_CONN_BIRD_DEFAULT``).
    """

    def __init__(self, path: str | os.PathLike, dags_folder: str | os.PathLike, env=None):
        self.path = Path(path).resolve()
        self.dags_folder = Path(dags_folder).resolve()
        self.extra_env = dict(env or {})

    def environ(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.path),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        env.update(self.extra_env)
        env.update(overrides)
        # A deployment's DAG processor and task runner import modules beside the DAG files;
        # Airflow 3.0's `dags test` does not put the DAGs folder on the path, so do it here.
        path = [env["AIRFLOW__CORE__DAGS_FOLDER"], env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(part for part in path if part)
        return env

    @staticmethod
    def airflow_command() -> list[str]:
        """The `airflow` executable beside this interpreter (or on PATH)."""
        airflow_bin = Path(sys.executable).with_name("airflow")
        return [str(airflow_bin) if airflow_bin.exists() else "airflow"]

    def airflow(self, *args: str, check: bool = True, timeout: float = 600, **env: str):
        """Run `airflow ARGS...`; returns the CompletedProcess (stdout and stderr merged)."""
        command = [*self.airflow_command(), *args]
        result = subprocess.run(
            command,
            env=self.environ(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return self._checked(result, check, *args)

    def migrate(self) -> None:
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        self.airflow("db", "migrate")

    def dags_test(self, dag_id: str, *, check: bool = True, **env: str):
        """`airflow dags test DAG_ID`, its tries retried as a scheduler would. Where the
        command stops at a try `execution_timeout` ended (`compat.DAGS_TEST_RETRIES_TIMEOUTS`),
        leaving the task up for retry, each retry is run here with `airflow tasks run
        --local`, in the same DAG run, and its log appended to the output."""
        from airflow_provider_sms.compat import DAGS_TEST_RETRIES_TIMEOUTS as retried

        result = self.airflow("dags", "test", dag_id, check=check and retried, **env)
        if retried or result.returncode == 0:
            return result
        found = re.search(r"run_id=(\S+?),", result.stdout)
        if not found:
            return self._checked(result, check, "dags", "test", dag_id)
        run_id = found.group(1)
        output = [result.stdout]
        for _ in range(50):
            states = json.loads(
                self.airflow("tasks", "states-for-dag-run", dag_id, run_id, "-o", "json", **env)
                .stdout.strip()
                .splitlines()[-1]
            )
            retrying = [s["task_id"] for s in states if s["state"] == "up_for_retry"]
            if not retrying:
                break
            for task_id in retrying:
                self.airflow(
                    "tasks",
                    "run",
                    dag_id,
                    task_id,
                    run_id,
                    "--local",
                    "--ignore-all-dependencies",
                    check=False,
                    **env,
                )
        logs = sorted(
            (self.path / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}").rglob("attempt=*.log"),
            key=lambda log: int(log.stem.split("=")[1]),
        )
        output += [log.read_text() for log in logs]
        result.stdout = "\n".join(output)
        result.returncode = 0 if all(s["state"] == "success" for s in states) else 1
        return self._checked(result, check, "dags", "test", dag_id)

    @staticmethod
    def _checked(result, check: bool, *args: str):
        if check and result.returncode != 0:
            raise RuntimeError(
                f"`airflow {' '.join(args)}` exited {result.returncode}:\n{result.stdout[-6000:]}"
            )
        return result
