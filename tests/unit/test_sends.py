"""The send operators and BirdHook's verbs take the same arguments with the same defaults:
the operators' signatures (which Airflow reads) against the kinds of `outbound.sends`."""

import inspect

import pytest

from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.operators.send import BirdSendOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.operators.template import SendTemplateOperator
from airflow_provider_sms.outbound.sends import REQUIRED, MmsSend, Send, SmsSend, TemplateSend

# The operator's own arguments: it waits for delivery by deferring, which a task's call cannot.
OPERATOR_ONLY = {"wait_for_delivery", "delivery_timeout", "delivery_poll_interval"}


def _defaults(*classes) -> dict:
    found = {}
    for cls in classes:
        for parameter in inspect.signature(cls.__init__).parameters.values():
            if parameter.kind is parameter.KEYWORD_ONLY:
                default = parameter.default
                found[parameter.name] = REQUIRED if default is parameter.empty else default
    return found


@pytest.mark.parametrize(
    ("operator", "kind"),
    [(SendSmsOperator, SmsSend), (SendMmsOperator, MmsSend), (SendTemplateOperator, TemplateSend)],
)
def test_each_operator_and_its_kind_take_the_same_arguments_and_defaults(operator, kind):
    operators = _defaults(BirdSendOperator, operator)
    for name in OPERATOR_ONLY:
        operators.pop(name)
    assert operators == {**Send.COMMON, **kind.OWN}
    assert operator.send_kind is kind
