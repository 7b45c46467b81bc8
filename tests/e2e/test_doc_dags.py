"""Every DAG of the documentation (README.md, docs/), run for real with `airflow dags test`
against the sandbox; what each must leave in the sandbox is stated here, so that a DAG added
to the pages is added here too."""

import json

import pytest
from docpages import python_examples
from support import receiver

# dag id -> (the run succeeds, how many SMS/MMS the sandbox then holds)
EXPECTED = {
    "docs_first_dag": (True, 2),
    "docs_sms_reminders": (True, 3),  # four numbers, one of them twice
    "docs_wait_for_delivery": (True, 2),
    "docs_mapped_send": (True, 120),
    "docs_notify_on_failure": (False, 1),  # the task fails; its callback texts on call
    "docs_tomorrows_reminders": (True, 3),  # each held `scheduled` until 09:00 local time
    "docs_chart_mms": (True, 2),  # the chart drawn by the first task, uploaded once
    "docs_support_inbox": (True, 0),  # run by hand: no inbound SMS, no ticket
    "docs_confirm_by_reply": (True, 1),  # the magic number replies YES
    "docs_opt_outs": (True, 5),  # 3, then 2: the one that replied STOP is left out
    "docs_capped_send": (True, 2),  # at its caps: four numbers, one twice, one excluded
    "docs_alert_cooldown": (False, 1),  # the task fails; the first alert of its cooldown
    "docs_taskflow_send": (True, 2),  # BirdHook().send_sms from a @task
    "docs_on_inbound_push": (True, 0),  # run by hand: no pushed event, nothing to handle
}
# Run in the deployed Airflow instead (tests/e2e/test_deployed_approvals.py): `airflow dags
# test` runs a trigger where Airflow does not serve HITL details, so an approval cannot wait.
DEPLOYED = {"docs_sms_approval"}
ON_CALL_PHONE = "+31687654321"

DAGS = [e for e in python_examples() if e.is_dag and e.dag_id not in DEPLOYED]


def test_the_pages_show_exactly_these_dags():
    shown = sorted(example.dag_id for example in python_examples() if example.is_dag)
    assert shown == sorted([*EXPECTED, *DEPLOYED])


@pytest.mark.parametrize("example", DAGS, ids=[example.dag_id for example in DAGS])
def test_the_dag_runs_against_the_sandbox(airflow_home, checked_sandbox, tmp_path, example):
    succeeds, messages = EXPECTED[example.dag_id]
    (tmp_path / f"{example.dag_id}.py").write_text(example.code)
    conn_var, conn_json = checked_sandbox.connection_env()
    result = airflow_home.dags_test(
        example.dag_id,
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(tmp_path),
        AIRFLOW_VAR_ON_CALL_PHONE=ON_CALL_PHONE,
        **{conn_var: conn_json},
    )
    assert (result.returncode == 0) == succeeds, result.stdout[-6000:]
    sent = [m for m in checked_sandbox.messages if m["direction"] == "outgoing"]
    assert len(sent) == messages, result.stdout[-6000:]
    # Nobody got the same message twice.
    assert len({(receiver(m), json.dumps(m.get("body"))) for m in sent}) == messages
    if not succeeds:
        assert [receiver(m) for m in sent] == [ON_CALL_PHONE]
