"""An SMS approval tried with `airflow dags test`, where Airflow cannot serve its wait: refused
before anything is texted, saying where to run it (tests/e2e/test_deployed_approvals.py
answers them in a running Airflow)."""

from pathlib import Path

import pytest
from support import HITL

from airflow_provider_sms.compat import AIRFLOW_VERSION

DAGS = Path(__file__).resolve().parent / "approval_dags"
INSTALLED = ".".join(map(str, AIRFLOW_VERSION))
# Each DAG file of a feature an older Airflow lacks: the error parsing it there, and the
# version that brought the feature.
REFUSALS = {
    "approvals.py": (
        "SmsApprovalOperator needs Airflow 3.1 or newer (human-in-the-loop tasks arrived in "
        f"3.1); this is Airflow {INSTALLED}",
        (3, 1),
    ),
    "inbound_watcher.py": (
        "InboundMessageTrigger needs Airflow 3.0 or newer (asset watchers arrived in 3.0); "
        f"this is Airflow {INSTALLED}",
        (3, 0),
    ),
}


def test_a_dag_of_a_feature_this_airflow_lacks_fails_to_parse_naming_the_version(airflow_home):
    # As the DAG processor parses them: each file's import error names the version it needs.
    airflow_home.airflow("dags", "reserialize", AIRFLOW__CORE__DAGS_FOLDER=str(DAGS))
    listed = airflow_home.airflow(
        "dags",
        "list-import-errors",
        "-o",
        "plain",
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
    )
    errors = listed.stdout
    lacking = [name for name, (_, needed) in REFUSALS.items() if AIRFLOW_VERSION[:2] < needed]
    # The command exits 1 when it lists any.
    assert listed.returncode == (1 if lacking else 0), errors[-4000:]
    for name, (refused, _) in REFUSALS.items():
        assert (refused in errors) == (name in lacking), errors[-4000:]
        assert (name in errors) == (name in lacking), errors[-4000:]


@pytest.mark.needs_airflow("3.1", feature=HITL)
def test_dags_test_refuses_an_approval_before_texting_saying_how_to_run_it(
    airflow_home, checked_sandbox
):
    var, value = checked_sandbox.connection_env()
    result = airflow_home.dags_test(
        "approval_times_out", check=False, AIRFLOW__CORE__DAGS_FOLDER=str(DAGS), **{var: value}
    )
    assert result.returncode != 0
    said = " ".join(result.stdout.split())
    assert (
        "SmsApprovalOperator: nothing was sent. `airflow dags test` runs the task's wait where "
        "Airflow serves no human-in-the-loop detail"
    ) in said, result.stdout[-4000:]
    assert "`airflow standalone` on one machine" in said
    assert checked_sandbox.requests == []
