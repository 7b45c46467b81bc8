"""What `airflow_provider_sms.compat` relies on in the installed Airflow, beyond its public
interface: an Airflow upgrade that changes any of it fails here, not in a triggerer."""

import ast
import asyncio
import inspect
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_sms import compat

ASSET_STATE = pytest.mark.needs_airflow("3.3", feature="asset state stores")
HITL = pytest.mark.needs_airflow("3.1", feature="human-in-the-loop tasks")


def test_compat_imports_airflow_only_inside_its_functions():
    # Operator modules import it when a DAG file is parsed: Airflow's parts load on use.
    tree = ast.parse(Path(compat.__file__).read_text())
    imported = [
        alias.name if isinstance(node, ast.Import) else node.module
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert sorted(set(imported)) == ["__future__", "importlib", "typing"]


def test_the_version_flags_are_the_installed_airflows():
    from airflow import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    assert compat.AIRFLOW_VERSION[:2] == (major, minor)
    flags = (
        compat.AIRFLOW_V_3_0_PLUS,
        compat.AIRFLOW_V_3_1_PLUS,
        compat.AIRFLOW_V_3_2_PLUS,
        compat.AIRFLOW_V_3_3_PLUS,
    )
    assert flags == tuple((major, minor) >= (3, m) for m in (0, 1, 2, 3))


@pytest.mark.parametrize("name", sorted(compat._SOURCES))
def test_every_name_compat_offers_is_found_on_this_airflow(name):
    if name in ("HITLOperator", "HITLTrigger") and not compat.AIRFLOW_V_3_1_PLUS:
        # The standard provider refuses them, as compat.require() does first.
        with pytest.raises(compat.AirflowOptionalProviderFeatureException, match="3.1"):
            getattr(compat, name)
        return
    if name in compat.API_SERVER_NAMES and not compat.AIRFLOW_V_3_0_PLUS:
        # Only the webhook receiver uses them, in Airflow 3's API server.
        with pytest.raises(ModuleNotFoundError):
            getattr(compat, name)
        return
    assert getattr(compat, name) is not None


def test_a_feature_this_airflow_lacks_fails_naming_the_version_it_needs(monkeypatch):
    monkeypatch.setattr(compat, "AIRFLOW_VERSION", (3, 0, 6))
    with pytest.raises(compat.AirflowOptionalProviderFeatureException) as raised:
        compat.require("SmsApprovalOperator")
    assert str(raised.value) == (
        "SmsApprovalOperator needs Airflow 3.1 or newer (human-in-the-loop tasks arrived in "
        "3.1); this is Airflow 3.0.6"
    )
    monkeypatch.setattr(compat, "AIRFLOW_VERSION", (3, 1, 0))
    compat.require("SmsApprovalOperator")


def test_the_shared_stream_is_airflows_where_it_has_one():
    if compat.AIRFLOW_V_3_3_PLUS:
        from airflow.triggers import shared_stream

        assert compat.SharedStreamProducer is shared_stream.SharedStreamProducer
        assert compat.AdvanceItem is shared_stream.AdvanceItem
    else:
        assert compat.SharedStreamProducer.__module__ == compat.__name__
        assert compat.AdvanceItem is None


def test_a_notifier_passes_its_arguments_to_airflow_from_3_1_on(monkeypatch):
    monkeypatch.setattr(compat, "AIRFLOW_V_3_1_PLUS", True)
    assert compat.notifier_arguments({"template_fields": ()}) == {"template_fields": ()}
    monkeypatch.setattr(compat, "AIRFLOW_V_3_1_PLUS", False)
    assert compat.notifier_arguments({"template_fields": ()}) == {}


def test_conf_is_airflows():
    from airflow.providers.common.compat.sdk import conf

    assert compat.conf is conf
    with pytest.raises(AttributeError):
        compat.settings  # noqa: B018


@ASSET_STATE
def test_a_watchers_store_lists_an_accessor_per_asset_in_private_dicts():
    from airflow.providers.common.compat.sdk import Asset
    from airflow.sdk.execution_time.context import (
        AssetStateStoreAccessor,
        AssetStateStoreAccessors,
    )

    # As the triggerer builds it for a watcher (jobs/triggerer_job_runner.py): every watched
    # asset as an inlet with its name and URI.
    store = AssetStateStoreAccessors(inlets=[Asset(name="sms", uri="bird://in"), Asset("other")])
    assert isinstance(store._by_name, dict) and isinstance(store._by_uri, dict)
    found = compat.asset_state_accessors(store)
    assert [(kind, name) for kind, name, _ in found] == [("name", "sms"), ("name", "other")]
    for _, _, accessor in found:
        assert isinstance(accessor, AssetStateStoreAccessor)
        assert inspect.iscoroutinefunction(accessor.aget)
        assert inspect.iscoroutinefunction(accessor.aset)
        assert list(inspect.signature(accessor.aget).parameters)[:1] == ["key"]
        assert list(inspect.signature(accessor.aset).parameters)[:2] == ["key", "value"]


def test_a_store_without_the_dicts_is_its_own_accessor():
    store = SimpleNamespace(aget=None, aset=None)
    assert compat.asset_state_accessors(store) == [("store", "", store)]
    assert compat.asset_state_accessors(None) == []


@HITL
@pytest.mark.parametrize("name", ["_handle_response", "_handle_timeout"])
def test_hitl_triggers_own_steps_are_coroutines_of_the_trigger_alone(name):
    step = getattr(compat.HITLTrigger, name)
    assert inspect.iscoroutinefunction(step)
    assert list(inspect.signature(step).parameters) == ["self"]


@pytest.mark.parametrize(
    ("function", "arguments"),
    [
        ("get_hitl_detail_content_detail", {"ti_id": uuid.uuid4()}),
        (
            "update_hitl_detail_response",
            {"ti_id": uuid.uuid4(), "chosen_options": ["Approve"], "params_input": {}},
        ),
        (
            "upsert_hitl_detail",
            {
                "ti_id": uuid.uuid4(),
                "options": ["Approve", "Reject"],
                "subject": "Go?",
                "body": None,
                "defaults": None,
                "multiple": False,
                "params": {},
                "assigned_users": None,
            },
        ),
    ],
)
@HITL
def test_the_hitl_calls_take_the_arguments_compat_passes(function, arguments):
    from airflow.sdk.execution_time import hitl

    inspect.signature(getattr(hitl, function)).bind(**arguments)


def trigger(defaults=None):
    return compat.HITLTrigger(
        ti_id=uuid.uuid4(),
        options=["Approve", "Reject"],
        params={},
        defaults=defaults,
        timeout_datetime=datetime(2026, 1, 1, tzinfo=UTC),
    )


def detail(answered: bool):
    return SimpleNamespace(
        response_received=answered,
        chosen_options=["Approve"] if answered else None,
        params_input={},
        responded_by_user=None,
        responded_at=datetime(2026, 1, 1, tzinfo=UTC) if answered else None,
    )


# The keys HITLOperator.execute_complete (and SmsApprovalOperator's) read from an answer.
ANSWER_KEYS = {"chosen_options", "params_input", "responded_at", "responded_by_user", "timedout"}


@HITL
def test_hitl_response_is_none_until_an_answer_is_recorded_then_an_answer_event(monkeypatch):
    answered = False
    monkeypatch.setattr(
        "airflow.providers.standard.triggers.hitl.get_hitl_detail_content_detail",
        lambda ti_id: detail(answered),
    )
    waiting = trigger()
    assert asyncio.run(compat.hitl_response(waiting)) is None
    answered = True
    event = asyncio.run(compat.hitl_response(waiting))
    assert isinstance(event, TriggerEvent) and set(event.payload) == ANSWER_KEYS
    assert event.payload["chosen_options"] == ["Approve"]


@HITL
def test_hitl_timeout_writes_the_defaults_as_the_answer(monkeypatch):
    written = []

    def write(ti_id, chosen_options, params_input):
        written.append(chosen_options)
        return SimpleNamespace(responded_at=datetime(2026, 1, 1, tzinfo=UTC))

    module = "airflow.providers.standard.triggers.hitl"
    monkeypatch.setattr(f"{module}.get_hitl_detail_content_detail", lambda ti_id: detail(False))
    monkeypatch.setattr(f"{module}.update_hitl_detail_response", write)
    event = asyncio.run(compat.hitl_timeout(trigger(defaults=["Reject"])))
    assert written == [["Reject"]]
    assert set(event.payload) == ANSWER_KEYS and event.payload["timedout"] is True
    failed = asyncio.run(compat.hitl_timeout(trigger()))
    assert failed.payload["error_type"] == "timeout"


@HITL
def test_the_hitl_calls_go_to_airflows_functions_when_called(monkeypatch):
    # Imported on each call, not at import: DAG files do not pay for them.
    calls = []
    module = "airflow.sdk.execution_time.hitl"
    monkeypatch.setattr(f"{module}.get_hitl_detail_content_detail", lambda **k: calls.append(k))
    monkeypatch.setattr(f"{module}.update_hitl_detail_response", lambda **k: calls.append(k))
    monkeypatch.setattr(f"{module}.upsert_hitl_detail", lambda **k: calls.append(k))
    asyncio.run(compat.hitl_detail("ti"))
    asyncio.run(compat.write_hitl_response("ti", chosen_options=["A"], params_input={}))
    compat.upsert_hitl_detail(ti_id="ti", options=["A"], subject="s")
    assert calls == [
        {"ti_id": "ti"},
        {"ti_id": "ti", "chosen_options": ["A"], "params_input": {}},
        {"ti_id": "ti", "options": ["A"], "subject": "s"},
    ]


@HITL
def test_a_task_outside_dags_test_is_served_its_hitl_detail():
    # `airflow dags test` is the other side: tests/e2e/test_approval_dags_test.py.
    from airflow.sdk.execution_time.supervisor import InProcessSupervisorComms  # noqa: F401

    assert compat.serves_hitl()


@pytest.mark.parametrize(
    ("sensor", "arguments"),
    [
        ("message_status.MessageStatusSensor", {"message_ids": ["m"]}),
        ("reply.ReplySensor", {"from_numbers": ["+31612345678"]}),
    ],
)
def test_a_wait_on_pushes_fails_where_no_receiver_can_run(monkeypatch, sensor, arguments):
    import importlib

    module, _, name = sensor.rpartition(".")
    cls = getattr(importlib.import_module(f"airflow_provider_sms.sensors.{module}"), name)
    monkeypatch.setattr(compat, "AIRFLOW_VERSION", (2, 11, 2))
    with pytest.raises(compat.AirflowOptionalProviderFeatureException) as raised:
        cls(task_id="wait", use_webhooks=True, **arguments)
    assert str(raised.value).startswith("use_webhooks needs Airflow 3.0 or newer")
    cls(task_id="unsaid", **arguments)
