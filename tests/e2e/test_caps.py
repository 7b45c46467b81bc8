"""The caps a platform team sets on the connection, in real `airflow dags test` runs: over
either, the task fails before any request, naming both numbers; at them, it sends."""

import json

import pytest
from support import TEST_DAGS


@pytest.mark.parametrize(
    ("caps", "said"),
    [
        (
            {"max_messages": 1},
            "2 message(s) to send (after de-duplication and exclusions), "
            "more than the connection's extra.max_messages allows (1); nothing was sent",
        ),
        (
            {"max_total_segments": 3},
            "4 segment(s) to send (after de-duplication and "
            "exclusions), more than the connection's extra.max_total_segments allows (3); "
            "nothing was sent",
        ),
        ({"max_messages": 2, "max_total_segments": 4}, None),
    ],
)
def test_the_connections_caps_bound_a_send(airflow_home, checked_sandbox, caps, said):
    conn = checked_sandbox.connection()
    conn["extra"] = {**conn["extra"], **caps}
    result = airflow_home.dags_test(
        "capped_send",
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(conn),
    )
    if said:
        assert result.returncode != 0 and said in result.stdout, result.stdout[-3000:]
        assert checked_sandbox.requests == []
    else:
        assert result.returncode == 0, result.stdout[-3000:]
        assert len(checked_sandbox.messages) == 2
