"""Environment shared by the benchmark processes: a throw-away Airflow home, quiet logs."""

import os
import tempfile


def prepare_airflow_env() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-sms-bench-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # Operators are executed directly here, outside a task runner.
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")


def numbers(count: int) -> list[str]:
    return [f"+316{20000000 + i}" for i in range(count)]
