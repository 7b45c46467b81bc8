"""SendTemplateOperator: a Bird Studio template message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_sms.operators.send import BirdSendOperator
from airflow_provider_sms.outbound.sends import TemplateSend


class SendTemplateOperator(BirdSendOperator):
    """Send a Bird Studio template message.

    :param project_id: the template's Studio project id (UUID, templated); give this or
        ``template_name``, not both.
    :param template_name: the template's platform name, instead of ``project_id`` (templated).
    :param version: ``"latest"`` or a version UUID (templated).
    :param locale: a BCP 47 locale such as ``"en"`` or ``"pt-BR"`` (templated).
    :param parameters: a dict of name to str/number/bool, or a list of Bird parameter
        dicts (templated).
    :param variables: a mapping of variable names to strings, the template's ``variables``
        (templated).
    :param utm_parameters: 1 to 8 UTM parameters added to the template's links: dicts
        ``{"key": ..., "value": ...}`` (key 1-20 characters, value 1-100) or
        ``{"key": ..., "reference": "platform_name" | "channel_name"}``, or a mapping of key
        to value (templated).
    :param short_links: as for the other operators, but sent as the template's own
        ``shortLinks`` (``{"enabled": true, "domain": ...}``).

    Other arguments as for :class:`SendSmsOperator`.
    """

    content_fields = (
        "project_id", "template_name", "version", "locale", "parameters", "variables",
        "utm_parameters",
    )  # fmt: skip
    json_fields = ("parameters", "variables", "utm_parameters")
    send_kind = TemplateSend

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        project_id: str | None = None,
        template_name: str | None = None,
        version: str = "latest",
        locale: str = "en",
        parameters: dict | list | None = None,
        variables: dict | None = None,
        utm_parameters: list | dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(recipients=recipients, **kwargs)
        # Exactly one of project_id and template_name: checked in execute(), once rendered.
        self._keep_content(locals())
