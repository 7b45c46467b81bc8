"""What each trigger stores in Airflow's database when a task defers, to the letter.

The triggerer rebuilds a deferred trigger from the stored classpath and kwargs, with
``cls(**kwargs)``, possibly after the provider was upgraded; an asset watcher's trigger is
stored the same way in the serialized DAG. So the classpath, the kwargs' keys and how their
values are stored must not change with the code behind them. Each trigger is built with every
argument given, each a value of its own (two swapped fields show), and what it stores is
literal."""

import copy
import importlib
from datetime import UTC, datetime
from uuid import UUID

import pytest
from support import HITL, WATCHERS

from airflow_provider_sms.compat import AIRFLOW_V_3_2_PLUS
from airflow_provider_sms.triggers.message_status import MessageStatusTrigger
from airflow_provider_sms.triggers.reply import ReplyTrigger

CHANNEL = "6b52e9cb-2ddf-45b5-8aea-62882e999fb7"

MESSAGE_STATUS = {
    "channel_id": CHANNEL,
    "message_ids": ["m1", "m2"],
    "batch_ids": ["b1"],
    "bird_conn_id": "bird_other",
    "success_statuses": ["delivered", "sent"],
    "failure_statuses": ["rejected"],
    "poll_interval": 2.5,
    "end_time": 1_764_003_600.0,
    "empty_batch_timeout": 60.0,
    "use_webhooks": True,
    "push_fallback": 30.0,
}

REPLY = {
    "channel_id": CHANNEL,
    "from_numbers": ["+12025550170", "+12025550171"],
    "after": 1_764_000_000.0,
    "pattern": "^yes",
    "bird_conn_id": "bird_other",
    "poll_interval": 3.0,
    "end_time": 1_764_003_600.0,
    "use_webhooks": False,
    "push_fallback": 45.0,
}

INBOUND = {
    "channel_id": CHANNEL,
    "from_numbers": ["+12025550150", "+12025550199"],
    "pattern": "stop",
    "bird_conn_id": "bird_other",
    "poll_interval": 7.0,
    "event_spacing": 0.0,
}

# HITLTrigger's own kwargs first, as SmsApprovalOperator passes them; "params" holds each
# param as Airflow's Param.serialize() writes it (with its `source` from 3.2 on).
SOURCE = {"source": None} if AIRFLOW_V_3_2_PLUS else {}
APPROVAL = {
    "ti_id": UUID("0195b5a4-0000-7000-8000-000000000001"),
    "options": ["Approve", "Reject"],
    "defaults": ["Reject"],
    "params": {
        "note": {"value": "x", "description": "Why", "schema": {"type": "string"}, **SOURCE}
    },
    "multiple": False,
    "timeout_datetime": datetime(2026, 12, 3, 13, 0, tzinfo=UTC),
    "poke_interval": 4.0,
    "approvers": ["+12025550170", "+12025550171"],
    "code": "K7QD",
    "channel_id": CHANNEL,
    "after": 1_764_000_000.0,
    "approval": True,
    "bird_conn_id": "bird_other",
}

# (class, its arguments, the classpath and kwargs it stores): all but the watcher store their
# arguments as given; the watcher stores its numbers in E.164, sorted, and no region.
CASES = [
    pytest.param(
        MessageStatusTrigger,
        MESSAGE_STATUS,
        ("airflow_provider_sms.triggers.message_status.MessageStatusTrigger", MESSAGE_STATUS),
        id="message_status",
    ),
    pytest.param(
        ReplyTrigger,
        REPLY,
        ("airflow_provider_sms.triggers.reply.ReplyTrigger", REPLY),
        id="reply",
    ),
    pytest.param(
        "airflow_provider_sms.triggers.inbound.InboundMessageTrigger",
        {**INBOUND, "from_numbers": ["(202) 555-0199", "+12025550150"], "default_region": "US"},
        ("airflow_provider_sms.triggers.inbound.InboundMessageTrigger", INBOUND),
        id="inbound",
        marks=WATCHERS,
    ),
    pytest.param(
        "airflow_provider_sms.triggers.approval.SmsApprovalTrigger",
        APPROVAL,
        ("airflow_provider_sms.triggers.approval.SmsApprovalTrigger", APPROVAL),
        id="approval",
        marks=pytest.mark.needs_airflow("3.1", feature=HITL),
    ),
]


def found(classpath: str):
    """The class at `classpath`, as the triggerer finds it."""
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)


def built(cls, kwargs: dict):
    # A copy: HITLTrigger takes each param's "value" out of the dict it is given.
    cls = found(cls) if isinstance(cls, str) else cls
    return cls(**copy.deepcopy(kwargs))


@pytest.mark.parametrize(("cls", "arguments", "stored"), CASES)
def test_a_trigger_stores_exactly_this(cls, arguments, stored):
    assert built(cls, arguments).serialize() == stored


@pytest.mark.parametrize(("cls", "arguments", "stored"), CASES)
def test_what_a_trigger_stored_rebuilds_it_as_it_was(cls, arguments, stored):
    classpath, kwargs = stored
    # As the triggerer does: the class found by its stored path.
    again = built(classpath, kwargs)
    assert type(again) is (found(cls) if isinstance(cls, str) else cls)
    assert again.serialize() == stored
