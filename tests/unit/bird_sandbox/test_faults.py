"""Faults (bird_sandbox/faults.py): each parameter defined once, in Fault; BirdSandbox.inject's
signature and help, the control API and parse_fault all come from it."""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest

from bird_sandbox import BirdSandbox
from bird_sandbox.faults import FAULT_KINDS, PARAMETERS, Fault, parse_fault


def test_inject_takes_exactly_the_fault_parameters():
    signature = inspect.signature(BirdSandbox.inject)
    assert list(signature.parameters) == ["self", "kind", *(f.name for f in PARAMETERS)]
    for parameter in PARAMETERS:
        assert signature.parameters[parameter.name].default == parameter.default
        assert f"``{parameter.name}``" in BirdSandbox.inject.__doc__
    for kind in FAULT_KINDS:
        assert f"``{kind}``" in BirdSandbox.inject.__doc__
    assert [f.name for f in fields(Fault)] == ["kind", *(f.name for f in PARAMETERS)]


def test_defaults_and_coercions():
    assert parse_fault("status") == Fault("status", status=503)
    assert parse_fault("drop", status=200).status == 200  # a parameter the kind does not use
    assert parse_fault("status", retry_after=2).retry_after == "2"
    assert parse_fault("hang", seconds=1).seconds == 1.0


@pytest.mark.parametrize(
    "kind, params, error",
    [
        ("nope", {}, ValueError),
        ("status", {"count": 0}, ValueError),
        ("status", {"status": 200}, ValueError),
        ("hang", {"seconds": -1}, ValueError),
        ("status", {"after_messages": True}, ValueError),
        ("status", {"method": "PUT"}, ValueError),
        ("body", {}, ValueError),
        ("status", {"colour": "red"}, TypeError),
    ],
)
def test_values_that_do_not_fit_are_refused(kind, params, error):
    with pytest.raises(error):
        parse_fault(kind, **params)
