"""Airflow, in one module: which Airflow is installed (the version flags), each Airflow name
the provider uses, chosen for that version, and where the provider leans on Airflow beyond
its public interface (private names, task-execution internals). Every other module imports
Airflow's names from here and reads as if written for one version; the layer test keeps them
off `airflow.*`, and `tests/unit/test_compat.py` pins what is relied on.

Names come from `apache-airflow-providers-common-compat` where it has them (its `sdk` map
tries the Task SDK's path first, then older ones); what it lacks is chosen here.

Cheap to import (DAG files import operators that import it): each name loads on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.standard.triggers.hitl import HITLTrigger
    from airflow.triggers.base import TriggerEvent


def _airflow_version() -> tuple[int, int, int]:
    # As the official providers' version_compat modules (copied, as common-compat's asks).
    from airflow import __version__
    from packaging.version import Version

    version = Version(__version__)
    return version.major, version.minor, version.micro


AIRFLOW_VERSION = _airflow_version()
AIRFLOW_V_3_0_PLUS = AIRFLOW_VERSION >= (3, 0, 0)
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION >= (3, 1, 0)
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2, 0)
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3, 0)
# Whether a task's state outlives its try (the send ledger): Airflow 3.3's task state store, or
# on Airflow 2, whose tasks reach the metadata database, a table there; 3.0 to 3.2 give neither.
KEEPS_TASK_STATE = AIRFLOW_V_3_3_PLUS or not AIRFLOW_V_3_0_PLUS
# Whether Bird's webhooks can arrive: the receiver is an app of Airflow 3's API server.
RECEIVES_WEBHOOKS = AIRFLOW_V_3_0_PLUS
# Whether `airflow dags test` retries a try that `execution_timeout` ended: Airflow 2's
# `AirflowTaskTimeout` is not an `Exception`, and ends the command instead.
DAGS_TEST_RETRIES_TIMEOUTS = AIRFLOW_V_3_0_PLUS

# Features that need a newer Airflow than the oldest the provider installs on: what each
# needs, as (version, what arrived then).
NEEDS: dict[str, tuple[tuple[int, int], str]] = {
    "InboundMessageTrigger": ((3, 0), "asset watchers"),
    "use_webhooks": ((3, 0), "plugins' apps in the API server, where Bird's webhooks arrive"),
    "SmsApprovalOperator": ((3, 1), "human-in-the-loop tasks"),
    "SmsApprovalTrigger": ((3, 1), "human-in-the-loop tasks"),
}


def require(feature: str) -> None:
    """Fail (when the DAG file is parsed) if this Airflow is too old for `feature`, naming
    the version it needs."""
    (major, minor), why = NEEDS[feature]
    if (major, minor, 0) > AIRFLOW_VERSION:
        installed = ".".join(map(str, AIRFLOW_VERSION))
        raise __getattr__("AirflowOptionalProviderFeatureException")(
            f"{feature} needs Airflow {major}.{minor} or newer ({why} arrived in {major}.{minor});"
            f" this is Airflow {installed}"
        )


# Names only Airflow 3's API server has (the webhook receiver's).
API_SERVER_NAMES = ("asset_manager", "AssetModel")
# Where each name comes from: common-compat's modules, or Airflow's own where the name is the
# same on every version the provider installs on.
_SDK = "airflow.providers.common.compat.sdk"
_SOURCES: dict[str, str] = {
    **dict.fromkeys(
        (
            "AirflowException",
            "AirflowFailException",
            "AirflowOptionalProviderFeatureException",
            "AirflowSensorTimeout",
            "Asset",
            "BaseHook",
            "BaseNotifier",
            "BaseOperator",
            "BaseSensorOperator",
            "BranchMixIn",
            "ObjectStoragePath",
            "PokeReturnValue",
            "Stats",
            "Variable",
            "conf",
            "get_current_context",
            "mask_secret",
            "task",
            "timezone",
        ),
        _SDK,
    ),
    "BaseEventTrigger": "airflow.providers.common.compat.triggers",
    "get_async_connection": "airflow.providers.common.compat.connection",
    "get_async_extra_dejson": "airflow.providers.common.compat.connection",
    "BaseTrigger": "airflow.triggers.base",
    "TriggerEvent": "airflow.triggers.base",
    # The API server's side (the webhook receiver, Airflow 3) and the CLI.
    "AirflowPlugin": "airflow.plugins_manager",
    "asset_manager": "airflow.assets.manager",
    "AssetModel": "airflow.models.asset",
    "create_session": "airflow.utils.session",
    **dict.fromkeys(
        ("ActionCommand", "Arg", "GroupCommand", "lazy_load_command"), "airflow.cli.cli_config"
    ),
    # Human in the loop (3.1+): modules that use them call require() first.
    "HITLOperator": "airflow.providers.standard.operators.hitl",
    "HITLTrigger": "airflow.providers.standard.triggers.hitl",
    "HITLRejectException": "airflow.providers.standard.exceptions",
}


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        value = getattr(importlib.import_module(_SOURCES[name]), name)
    elif name in ("SharedStreamProducer", "AdvanceItem"):
        value = _shared_stream(name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


# -- the triggerer's shared stream (3.3+) ---------------------------------------------------


class _NoSharedStream:
    """What an event trigger's poll derives from before Airflow 3.3, which has no shared
    stream: its triggerer runs each watcher's own `run()`, and nothing calls the stream's
    methods."""


def _shared_stream(name: str) -> Any:
    if AIRFLOW_V_3_3_PLUS:
        return getattr(importlib.import_module("airflow.triggers.shared_stream"), name)
    return _NoSharedStream if name == "SharedStreamProducer" else None


def default_deferrable(deferrable: bool | None) -> bool:
    """`deferrable` as given, else the deployment's `[operators] default_deferrable` (read
    when the task is built, as the official providers' deferrable operators do)."""
    if deferrable is not None:
        return deferrable
    return __getattr__("conf").getboolean("operators", "default_deferrable", fallback=False)


def current_context() -> Any:
    """The running task's context; empty outside a task (a script, a test)."""
    try:
        return __getattr__("get_current_context")()
    except Exception:  # noqa: BLE001 - Airflow raises its own error outside a task
        return {}


def notifier_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What a notifier passes to BaseNotifier's `__init__`: Airflow 3.0's takes nothing (the
    official providers' notifiers do the same)."""
    return kwargs if AIRFLOW_V_3_1_PLUS else {}


# -- where durable state lives ---------------------------------------------------------------


def task_state_store(context: Any) -> Any:
    """The task's state store: Airflow's (3.3+); on Airflow 2, whose tasks reach the metadata
    database, a table there (`DatabaseTaskStore`); None on 3.0 to 3.2, which give a task
    neither."""
    if not context:
        return None
    store = context.get("task_state_store")
    if store is None and not AIRFLOW_V_3_0_PLUS:
        from airflow.models.taskinstance import TaskInstance

        # A task instance of the database (not one of the internal API's copies, which
        # come with no database to reach).
        ti = context.get("ti")
        store = DatabaseTaskStore(ti) if isinstance(ti, TaskInstance) else None
    return store


class DatabaseTaskStore:
    """One task instance's state (Airflow 2), in a table of Airflow's metadata database
    created on first use, ``bird_task_state``: a row per key of each task instance, its value
    JSON. It keeps what Airflow 3.3's task state store keeps for the provider (the send
    ledger, a reply wait's start), with the same `get` and `set`, and is as durable: a write
    is committed before `set` returns. Rows live as long as their DAG run: those of runs no
    longer in the database (`airflow db clean`, a deleted DAG) are deleted, at most once a
    day per process."""

    TABLE = "bird_task_state"
    _PRUNE_EVERY = 24 * 3600.0
    _table: Any = None
    _last_prune = 0.0

    def __init__(self, ti: Any):
        self.where = {
            "dag_id": ti.dag_id,
            "run_id": ti.run_id,
            "task_id": ti.task_id,
            "map_index": getattr(ti, "map_index", -1),
        }

    @classmethod
    def table(cls, session: Any) -> Any:
        if cls._table is None:
            import sqlalchemy as sa
            from airflow.models.base import StringID

            # Ids typed as Airflow's own (on MySQL a narrower collation, which keeps the
            # primary key within its index limit); the provider's keys are short.
            table = sa.Table(
                cls.TABLE,
                sa.MetaData(),
                sa.Column("dag_id", StringID(), primary_key=True),
                sa.Column("run_id", StringID(), primary_key=True),
                sa.Column("task_id", StringID(), primary_key=True),
                sa.Column("map_index", sa.Integer, primary_key=True),
                sa.Column("key", StringID(length=100), primary_key=True),
                sa.Column("value", sa.Text, nullable=False),
            )
            bind = session.get_bind()
            try:
                table.create(bind=bind, checkfirst=True)
            except sa.exc.DatabaseError:
                # Another task created it between the check and the create.
                if not sa.inspect(bind).has_table(cls.TABLE):
                    raise
            cls._table = table
        return cls._table

    def _row(self, table: Any, key: str) -> Any:
        import sqlalchemy as sa

        return sa.and_(
            *(table.c[name] == value for name, value in self.where.items()), table.c.key == key
        )

    def get(self, key: str) -> Any:
        import json

        with __getattr__("create_session")() as session:
            table = self.table(session)
            value = session.execute(table.select().where(self._row(table, key))).first()
        return json.loads(value.value) if value else None

    def set(self, key: str, value: Any) -> None:
        import json

        with __getattr__("create_session")() as session:
            table = self.table(session)
            self._prune(session, table)
            session.execute(table.delete().where(self._row(table, key)))
            session.execute(table.insert().values(**self.where, key=key, value=json.dumps(value)))

    @classmethod
    def _prune(cls, session: Any, table: Any) -> None:
        import time

        import sqlalchemy as sa
        from airflow.models.dagrun import DagRun

        if cls._last_prune and time.monotonic() - cls._last_prune < cls._PRUNE_EVERY:
            return
        cls._last_prune = time.monotonic()
        runs = sa.select(DagRun.id).where(
            DagRun.dag_id == table.c.dag_id, DagRun.run_id == table.c.run_id
        )
        session.execute(table.delete().where(~runs.exists()))


def watcher_store(trigger: Any) -> Any:
    """Where an asset watcher keeps its cursor: the state store of the assets it watches
    (3.3+), else an Airflow Variable named after the watcher (the triggerer serves Variables
    on every 3.x)."""
    store = getattr(trigger, "asset_state_store", None)
    if store is not None or AIRFLOW_V_3_3_PLUS:
        return store
    return VariableStore(trigger)


class VariableStore:
    """A watcher's state in Airflow Variables: `key` plus a digest of what the watcher
    watches (its serialized arguments), so that two watchers of one channel keep a cursor
    each. Read and written on a worker thread, as the triggerer's calls block. Where no
    Variable can be reached (a watcher run outside a triggerer, as in a test), the state is
    kept in memory, with a warning: a restart then watches from the present."""

    def __init__(self, trigger: Any):
        import hashlib
        import json

        arguments = json.dumps(trigger.serialize()[1], sort_keys=True, default=str)
        self.digest = hashlib.sha256(arguments.encode()).hexdigest()[:16]
        self.memory: dict[str, Any] | None = None

    def name(self, key: str) -> str:
        return f"{key}:{self.digest}"

    async def aget(self, key: str) -> Any:
        return await self._call("get", key, None, deserialize_json=True)

    async def aset(self, key: str, value: Any) -> None:
        await self._call("set", key, value, serialize_json=True)

    async def _call(self, verb: str, key: str, value: Any, **json_flag: bool) -> Any:
        if self.memory is None:
            from asgiref.sync import sync_to_async

            method = getattr(__getattr__("Variable"), verb)
            try:
                return await sync_to_async(method)(self.name(key), value, **json_flag)
            except Exception as exc:  # noqa: BLE001 - any failure means no Variables here
                import logging

                logging.getLogger(__name__).warning(
                    "Cannot keep the watcher's place in the Airflow Variable %s (%s: %s): "
                    "kept in memory; after a restart it watches from the present",
                    self.name(key),
                    type(exc).__name__,
                    exc,
                )
                self.memory = {}
        if verb == "set":
            self.memory[key] = value
        return self.memory.get(key)


# -- an asset watcher's state store --------------------------------------------------------


def asset_state_accessors(store: Any) -> list[tuple[str, str, Any]]:
    """(kind, name, accessor) for each asset of a watcher's ``asset_state_store``. The
    triggerer hands a watcher one accessor per asset it watches, which Airflow 3.3 offers no
    public way to list: they are the store's `_by_name` and `_by_uri`. A store without them
    (one made for a test) is its own accessor."""
    if store is None:
        return []
    found = [("name", n, a) for n, a in getattr(store, "_by_name", {}).items()]
    found += [("uri", u, a) for u, a in getattr(store, "_by_uri", {}).items()]
    return found or [("store", "", store)]


# -- human in the loop ---------------------------------------------------------------------


async def hitl_response(trigger: HITLTrigger) -> TriggerEvent | None:
    """HITLTrigger's own look at the task's HITL detail: the event of an answer recorded (in
    the UI, the REST API, or by an earlier run of the trigger), None while there is none."""
    return await trigger._handle_response()


async def hitl_timeout(trigger: HITLTrigger) -> TriggerEvent:
    """HITLTrigger's own end at its timeout: an answer recorded meanwhile, else the defaults
    written as the answer (or a failure, without defaults)."""
    return await trigger._handle_timeout()


async def hitl_detail(ti_id: Any) -> Any:
    """The task's HITL detail, from the API server; None where Airflow serves none."""
    from airflow.sdk.execution_time.hitl import get_hitl_detail_content_detail
    from asgiref.sync import sync_to_async

    return await sync_to_async(get_hitl_detail_content_detail)(ti_id=ti_id)


async def write_hitl_response(ti_id: Any, chosen_options: list[str], params_input: dict) -> Any:
    """Record the answer, as HITLTrigger records the defaults at its timeout (the API server
    refuses a second answer); Airflow's response, with ``responded_at``."""
    from airflow.sdk.execution_time.hitl import update_hitl_detail_response
    from asgiref.sync import sync_to_async

    return await sync_to_async(update_hitl_detail_response)(
        ti_id=ti_id, chosen_options=chosen_options, params_input=params_input
    )


def server_connection(conn_id: str) -> Any:
    """A connection read where Airflow's database is at hand (the API server), through the
    secrets backends like any other."""
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id)


def serves_hitl() -> bool:
    """Whether Airflow can serve this task's human-in-the-loop detail to its trigger: not in
    `airflow dags test` (and `dag.test()`), which runs the task in its own process, talking
    to an in-process supervisor (Airflow's private `InProcessSupervisorComms`)."""
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.supervisor import InProcessSupervisorComms

    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    return not isinstance(comms, InProcessSupervisorComms)


def upsert_hitl_detail(**detail: Any) -> None:
    """Create or replace the task's HITL detail (the question the UI shows), from a task."""
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail as upsert

    upsert(**detail)
