"""Where the provider leans on Airflow beyond its public interface, in one module: Airflow's
private names, and the calls into its task-execution internals. `tests/unit/test_compat.py`
pins what is relied on, so an Airflow upgrade that changes it fails there first, and the
layer test keeps every other module off Airflow's private names.

Cheap to import (DAG files import operators that import it): Airflow loads on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.standard.triggers.hitl import HITLTrigger
    from airflow.triggers.base import TriggerEvent


def __getattr__(name: str) -> Any:
    # `conf` is read on first use: Airflow builds its configuration when it is imported.
    if name == "conf":
        from airflow.sdk import conf

        return conf
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def upsert_hitl_detail(**detail: Any) -> None:
    """Create or replace the task's HITL detail (the question the UI shows), from a task."""
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail as upsert

    upsert(**detail)
