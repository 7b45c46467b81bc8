"""An SMS approval tried with `airflow dags test`: the question goes out, and the wait, which
Airflow cannot serve there, ends saying why and where to run it (tests/e2e/
test_deployed_approvals.py answers them in a running Airflow)."""

from pathlib import Path

from support import receiver

DAGS = Path(__file__).resolve().parent / "approval_dags"


def test_dags_test_asks_once_then_says_where_an_approval_can_wait(airflow_home, checked_sandbox):
    var, value = checked_sandbox.connection_env()
    result = airflow_home.dags_test(
        "approval_times_out", check=False, AIRFLOW__CORE__DAGS_FOLDER=str(DAGS), **{var: value}
    )
    assert result.returncode != 0
    assert "`airflow dags test` runs triggers where HITL details are not available" in (
        result.stdout
    ), result.stdout[-4000:]
    sent = [m for m in checked_sandbox.messages if m["direction"] == "outgoing"]
    assert [receiver(m) for m in sent] == ["+12025550170"]
    assert "Raise prices by 2% tonight?" in sent[0]["body"]["text"]["text"]
