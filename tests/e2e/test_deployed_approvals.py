"""SmsApprovalOperator in a deployed Airflow (PostgreSQL, LocalExecutor, API server,
scheduler, DAG processor, triggerer): questions answered by SMS while the task is deferred,
in Airflow's REST API, or by the defaults at the timeout. `make deploy-test` runs these."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from deployment import copy_of_dags, deployed, wait_for
from docpages import python_examples
from support import EXAMPLE_DAGS, ROOT, receiver

from bird_sandbox.process import SandboxProcess

DAGS = Path(__file__).resolve().parent / "approval_dags"
ARTIFACTS = ROOT / ".artifacts"
APPROVER = "+12025550170"
OTHER = "+12025550171"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxProcess(latency=0.02) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def dags(tmp_path_factory) -> Path:
    # With the example DAG and the documentation's, run as a user would.
    folder = tmp_path_factory.mktemp("approval_dags")
    copy_of_dags(DAGS, folder, EXAMPLE_DAGS / "example_sms_approval.py")
    [page_dag] = [e for e in python_examples() if e.dag_id == "docs_sms_approval"]
    (folder / "docs_sms_approval.py").write_text(page_dag.code)
    return folder


@pytest.fixture(scope="module")
def deployment(request, sandbox, dags):
    # A second connection id for the same workspace and channel, and a staging one.
    [(name, uri)] = sandbox.connection_env.items()
    staging = json.loads(uri)
    staging["extra"] = {**staging["extra"], "dry_run": True}
    env = {
        name: uri,
        "AIRFLOW_CONN_BIRD_SECOND": uri,
        "AIRFLOW_CONN_BIRD_STAGING": json.dumps(staging),
    }
    with deployed(dags, env, artifacts=ARTIFACTS, request=request) as deployment:
        yield deployment


@pytest.fixture
def fresh(sandbox):
    sandbox.reset()
    return sandbox


def questions_to(sandbox, number: str) -> list[dict]:
    return [
        m for m in sandbox.messages() if m.get("direction") == "outgoing" and receiver(m) == number
    ]


def text_of(message: dict) -> str:
    return message["body"]["text"]["text"]


def code_in(message: dict) -> str:
    return text_of(message).split("Code ", 1)[1][:4]


def reading_replies(sandbox) -> bool:
    return any(r["method"] == "GET" and r["path"].endswith("/messages") for r in sandbox.requests())


def states(deployment, dag_id: str, run_id: str) -> dict[str, str]:
    return {t["task_id"]: t["state"] for t in deployment.task_instances(dag_id, run_id)}


def deferred(deployment, dag_id: str, run_id: str, *task_ids: str, try_number: int = 1) -> None:
    wait_for(
        lambda: all(states(deployment, dag_id, run_id).get(t) == "deferred" for t in task_ids),
        f"{task_ids} of {dag_id} to defer",
    )
    wait_for(
        lambda: all(deployment.deferral_handled(dag_id, run_id, t, try_number) for t in task_ids),
        f"the scheduler to take in that {task_ids} of {dag_id} deferred",
    )


def answer(deployment, dag_id: str, run_id: str, task_id: str) -> dict:
    """The task's XCom (what it returned) and the HITL detail Airflow recorded."""
    [(value,)] = deployment.postgres.query(
        "SELECT value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = %s "
        "AND key = 'return_value'",
        dag_id,
        run_id,
        task_id,
    )
    [(chosen, responded_by)] = deployment.postgres.query(
        "SELECT h.chosen_options, h.responded_by FROM hitl_detail h "
        "JOIN task_instance t ON t.id = h.ti_id "
        "WHERE t.dag_id = %s AND t.run_id = %s AND t.task_id = %s",
        dag_id,
        run_id,
        task_id,
    )
    value = value if isinstance(value, dict) else json.loads(value)
    return {"xcom": value, "chosen": chosen, "responded_by": responded_by}


def answer_in_the_api(deployment, dag_id: str, run_id: str, task_id: str, option: str):
    """Answer the task's HITL question through Airflow's REST API, as a user would."""
    return deployment.rest(
        "PATCH",
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails",
        {"chosen_options": [option], "params_input": {}},
    )


def test_an_sms_reply_chooses_the_option_and_its_branch_runs(deployment, fresh):
    run_id = deployment.trigger("approval_choice")
    deferred(deployment, "approval_choice", run_id, "release")
    [question] = questions_to(fresh, APPROVER)
    text = text_of(question)
    assert "Release 4.2 passed its checks." in text and "deploy, rollback" in text
    # The deployment says where its UI is, so the text links to the task.
    assert f"/dags/approval_choice/runs/{run_id}/tasks/release/required_actions" in text, text
    fresh.receive(APPROVER, "Deploy - canary looks fine")
    state = deployment.wait_for_run("approval_choice", run_id, timeout=180)
    tasks = states(deployment, "approval_choice", run_id)
    got = answer(deployment, "approval_choice", run_id, "release")
    print(f"\nchoice by SMS: run {state}, tasks {tasks}, answer {got['xcom']['chosen_options']}")
    assert state == "success"
    assert tasks == {"release": "success", "deploy": "success", "rollback": "skipped"}
    assert got["chosen"] == ["deploy"]
    assert got["xcom"]["answered_by"] == "sms"
    assert got["xcom"]["responded_by_user"]["id"] == APPROVER  # the number that answered
    assert got["xcom"]["sms_reply"]["comment"] == "canary looks fine"
    log = deployment.task_log("approval_choice", run_id, "release")
    assert "Answered by SMS from +120******70" in log
    assert APPROVER not in log  # masked in the log


def test_an_answer_in_airflow_first_leaves_a_later_sms_without_effect(deployment, fresh):
    dag_id = "approval_answered_in_airflow"
    run_id = deployment.trigger(dag_id)
    deferred(deployment, dag_id, run_id, "refund")
    # Answered once the trigger reads replies, as a person would: an answer within the
    # scheduler's first second after the deferral meets Airflow 3.3.2's stale defer-exit
    # race (apache/airflow#67287, #72716), which fails the task.
    wait_for(lambda: reading_replies(fresh), "the trigger to read the replies")
    status, body = answer_in_the_api(deployment, dag_id, run_id, "refund", "Approve")
    assert status == 200, body
    fresh.receive(APPROVER, "reject")  # while the trigger may still be reading replies
    state = deployment.wait_for_run(dag_id, run_id, timeout=180)
    fresh.receive(APPROVER, "REJECT, changed my mind")  # after the task ended
    time.sleep(3)
    got = answer(deployment, dag_id, run_id, "refund")
    tasks = states(deployment, dag_id, run_id)
    print(f"\nanswered in the API, then by SMS: run {state}, tasks {tasks}, {got['chosen']}")
    assert state == "success"
    assert tasks == {"refund": "success", "pay_refund": "success"}
    assert got["chosen"] == ["Approve"]
    assert got["xcom"]["answered_by"] == "airflow"
    assert got["xcom"]["sms_reply"] is None
    assert got["responded_by"]["name"]  # Airflow's user, as for any HITL answer
    status, body = answer_in_the_api(deployment, dag_id, run_id, "refund", "Reject")
    assert status == 409  # the first answer stands
    assert len(questions_to(fresh, APPROVER)) == 1


def test_replies_that_answer_nothing_are_ignored_and_the_defaults_apply(deployment, fresh):
    dag_id = "approval_times_out"
    run_id = deployment.trigger(dag_id)
    deferred(deployment, dag_id, run_id, "prices")
    fresh.receive(OTHER, "approve")  # not an approver
    fresh.receive(APPROVER, "maybe tomorrow")  # no option
    fresh.receive(APPROVER, "approved")  # not the word "approve"
    state = deployment.wait_for_run(dag_id, run_id, timeout=180)
    got = answer(deployment, dag_id, run_id, "prices")
    tasks = states(deployment, dag_id, run_id)
    print(f"\nno valid answer: run {state}, tasks {tasks}, defaults {got['chosen']}")
    assert state == "success"
    assert tasks == {"prices": "success", "raise_prices": "skipped"}
    assert got["chosen"] == ["Reject"]
    assert got["xcom"]["answered_by"] == "timeout"
    log = deployment.task_log(dag_id, run_id, "prices")
    assert "Ignored a reply from +120******71: not an approver" in log
    assert "Ignored a reply from +120******70 (14 characters)" in log
    assert OTHER not in log and APPROVER not in log


@pytest.mark.parametrize("dag_id", ["approval_two_questions", "approval_two_connections"])
def test_two_questions_to_one_approver_are_told_apart_by_their_codes(deployment, fresh, dag_id):
    # approval_two_connections asks under two connection ids for the same channel.
    run_id = deployment.trigger(dag_id)
    deferred(deployment, dag_id, run_id, "first", "second")
    sent = {text_of(m).split(" question")[0]: m for m in questions_to(fresh, APPROVER)}
    first, second = code_in(sent["The first"]), code_in(sent["The second"])
    assert first != second
    # Without a code, a reply could answer either: it answers neither, not even once the
    # other is answered.
    fresh.receive(APPROVER, "yes")
    time.sleep(4)
    assert states(deployment, dag_id, run_id)["first"] == "deferred"
    assert states(deployment, dag_id, run_id)["second"] == "deferred"
    fresh.receive(APPROVER, f"{first} yes, both fine")
    wait_for(lambda: states(deployment, dag_id, run_id)["first"] == "success", "first's answer")
    time.sleep(4)  # several looks of the second question's trigger
    assert states(deployment, dag_id, run_id)["second"] == "deferred"
    fresh.receive(APPROVER, f"{second.lower()} no")
    state = deployment.wait_for_run(dag_id, run_id, timeout=180)
    tasks = states(deployment, dag_id, run_id)
    print(f"\n{dag_id}: codes {first} and {second}: run {state}, tasks {tasks}")
    assert tasks == {
        "first": "success",
        "after_first": "success",
        "second": "success",
        "after_second": "skipped",
    }
    assert answer(deployment, dag_id, run_id, "first")["chosen"] == ["Approve"]
    assert answer(deployment, dag_id, run_id, "second")["chosen"] == ["Reject"]
    comment = answer(deployment, dag_id, run_id, "first")["xcom"]["sms_reply"]["comment"]
    assert comment == "both fine"
    log = deployment.task_log(dag_id, run_id, "second")
    assert "1 other question(s) were open to that number" in log


def test_a_cleared_approval_asks_again_and_takes_only_a_later_reply(deployment, fresh):
    dag_id = "approval_cleared"
    run_id = deployment.trigger(dag_id)
    deferred(deployment, dag_id, run_id, "publish")
    fresh.receive(APPROVER, "yes")
    assert deployment.wait_for_run(dag_id, run_id, timeout=180) == "success"
    status, body = deployment.rest(
        "POST",
        f"/api/v2/dags/{dag_id}/clearTaskInstances",
        {
            "dry_run": False,
            "only_failed": False,
            "dag_run_id": run_id,
            "task_ids": ["publish"],
            "include_downstream": True,
        },
    )
    assert status == 200, body
    wait_for(lambda: len(questions_to(fresh, APPROVER)) == 2, "the question to go out again")
    deferred(deployment, dag_id, run_id, "publish", try_number=2)
    time.sleep(4)  # several looks: the first round's "yes" answers nothing now
    assert states(deployment, dag_id, run_id)["publish"] == "deferred"
    fresh.receive(APPROVER, "no, not this week")
    state = deployment.wait_for_run(dag_id, run_id, timeout=180)
    tasks = states(deployment, dag_id, run_id)
    print(f"\ncleared and asked again: run {state}, tasks {tasks}")
    assert tasks == {"publish": "success", "published": "skipped"}
    got = answer(deployment, dag_id, run_id, "publish")
    assert got["chosen"] == ["Reject"]
    assert got["xcom"]["sms_reply"]["comment"] == "not this week"


def test_a_question_sent_by_a_killed_try_is_not_sent_again(deployment, fresh):
    dag_id = "approval_killed"
    # The worst moment: Bird has stored the question, its answer is still on the way.
    fresh.control(
        "POST", "faults", {"kind": "drip", "seconds": 60, "method": "POST", "path": "/messages"}
    )
    run_id = deployment.trigger(dag_id)
    wait_for(lambda: questions_to(fresh, APPROVER), "the question to reach the sandbox")
    [ti] = [t for t in deployment.task_instances(dag_id, run_id) if t["task_id"] == "ship"]
    assert ti["state"] == "running" and ti["pid"]
    os.kill(ti["pid"], signal.SIGKILL)
    fresh.control("DELETE", "faults")
    # The retry defers: its try only, the killed one reported nothing.
    deferred(deployment, dag_id, run_id, "ship", try_number=2)
    [ti] = [t for t in deployment.task_instances(dag_id, run_id) if t["task_id"] == "ship"]
    assert ti["try_number"] == 2
    fresh.receive(APPROVER, "approve")
    state = deployment.wait_for_run(dag_id, run_id, timeout=180)
    tasks = states(deployment, dag_id, run_id)
    print(f"\nkilled after sending: run {state} on try {ti['try_number']}, tasks {tasks}")
    assert state == "success" and tasks["shipped"] == "success"
    assert len(questions_to(fresh, APPROVER)) == 1


def test_the_documented_example_runs_on_an_sms_answer(deployment, fresh):
    dag_id = "example_sms_approval"
    run_id = deployment.trigger(dag_id)
    deferred(deployment, dag_id, run_id, "approve_prices")
    fresh.receive(APPROVER, "yes")
    state = deployment.wait_for_run(dag_id, run_id, timeout=180)
    tasks = states(deployment, dag_id, run_id)
    assert state == "success", tasks
    assert tasks["publish_prices"] == "success"


def test_the_documentation_dag_branches_on_an_sms_answer(deployment, fresh):
    dag_id = "docs_sms_approval"
    run_id = deployment.trigger(dag_id)
    deferred(deployment, dag_id, run_id, "release")
    assert len(questions_to(fresh, "+12025550175")) == 1  # both approvers asked
    fresh.receive("+12025550175", "rollback: the error rate is up")
    state = deployment.wait_for_run(dag_id, run_id, timeout=180)
    tasks = states(deployment, dag_id, run_id)
    assert state == "success", tasks
    assert tasks == {"release": "success", "deploy": "skipped", "rollback": "success"}
    got = answer(deployment, dag_id, run_id, "release")
    assert got["xcom"]["responded_by_user"]["id"] == "+12025550175"


def test_a_question_through_a_staging_connection_texts_nobody_and_waits_in_the_ui(
    deployment, fresh
):
    dag_id = "approval_in_staging"
    run_id = deployment.trigger(dag_id)
    deferred(deployment, dag_id, run_id, "launch")
    wait_for(lambda: reading_replies(fresh), "the trigger to read the replies")
    assert not [r for r in fresh.requests() if r["method"] == "POST"], "something was sent"
    status, body = answer_in_the_api(deployment, dag_id, run_id, "launch", "Approve")
    assert status == 200, body
    state = deployment.wait_for_run(dag_id, run_id, timeout=180)
    print(f"\nan approval through a staging connection: run {state}, no POST to Bird")
    assert state == "success"
    assert states(deployment, dag_id, run_id) == {"launch": "success", "launch_campaign": "success"}
    assert not [r for r in fresh.requests() if r["method"] == "POST"]
    log = deployment.task_log(dag_id, run_id, "launch")
    assert "is a staging one (extra.dry_run)" in log
    assert "The question was not texted (a dry run): answer it in the UI" in log
