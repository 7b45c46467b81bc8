"""Airflow 2's task state: `compat.DatabaseTaskStore`, a table of Airflow's metadata database
(here the tests' own SQLite one, its tables created from Airflow's models), which keeps the
send ledger where Airflow 2 has no task state store."""

from types import SimpleNamespace

import pytest

from airflow_provider_sms import compat

pytestmark = pytest.mark.only_airflow("2", feature="tasks that reach the metadata database")

RUN = "manual__2026-12-07T00:00:00+00:00"


@pytest.fixture(scope="module")
def database():
    from airflow import settings
    from airflow.models.base import Base
    from airflow.models.dagrun import DagRun
    from airflow.models.tasklog import LogTemplate

    # The tables the store reads (a DAG run's, and the one it points to).
    tables = [LogTemplate.__table__, DagRun.__table__]
    Base.metadata.create_all(settings.engine, tables=tables)
    return settings


@pytest.fixture
def dag_run(database):
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState

    with compat.create_session() as session:
        session.query(DagRun).delete()
        session.add(
            DagRun(dag_id="sends", run_id=RUN, run_type="manual", state=DagRunState.RUNNING)
        )
    compat.DatabaseTaskStore._last_prune = 0.0
    yield RUN


def ti(task_id="send", run_id=RUN, map_index=-1):
    return SimpleNamespace(dag_id="sends", run_id=run_id, task_id=task_id, map_index=map_index)


def test_a_value_is_kept_for_its_task_instance_alone(dag_run):
    group = {"batches": {"b1": ["+31612345678", "+31612345679"]}}
    compat.DatabaseTaskStore(ti()).set("bird-ledger:m2:0", group)
    # Read back as a later try reads it: another store of the same task instance.
    assert compat.DatabaseTaskStore(ti()).get("bird-ledger:m2:0") == group
    compat.DatabaseTaskStore(ti()).set("bird-ledger:m2:0", {"batches": {}})
    assert compat.DatabaseTaskStore(ti()).get("bird-ledger:m2:0") == {"batches": {}}
    for other in (ti(task_id="other"), ti(map_index=0), ti(run_id="another")):
        assert compat.DatabaseTaskStore(other).get("bird-ledger:m2:0") is None
    assert compat.DatabaseTaskStore(ti()).get("bird-ledger:m2:1") is None


def test_the_rows_of_a_run_no_longer_in_the_database_are_deleted(dag_run):
    compat.DatabaseTaskStore(ti(run_id="deleted")).set("bird-ledger:m0:meta", {"groups": 1})
    compat.DatabaseTaskStore(ti()).set("bird-ledger:m0:meta", {"groups": 1})
    compat.DatabaseTaskStore._last_prune = 0.0  # a day later
    compat.DatabaseTaskStore(ti()).set("bird-ledger:m0:0", {"batches": {}})
    assert compat.DatabaseTaskStore(ti(run_id="deleted")).get("bird-ledger:m0:meta") is None
    assert compat.DatabaseTaskStore(ti()).get("bird-ledger:m0:meta") == {"groups": 1}


def test_a_task_gets_the_table_only_with_a_task_instance_of_the_database(dag_run):
    from airflow.models.taskinstance import TaskInstance

    real = TaskInstance.__new__(TaskInstance)
    real.__dict__.update(vars(ti()))
    store = compat.task_state_store({"ti": real})
    assert isinstance(store, compat.DatabaseTaskStore) and store.where["task_id"] == "send"
    # A stand-in (a test's, or the internal API's copy) has no database behind it.
    assert compat.task_state_store({"ti": ti()}) is None
    given = object()
    assert compat.task_state_store({"ti": real, "task_state_store": given}) is given
