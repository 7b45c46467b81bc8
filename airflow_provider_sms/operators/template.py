"""SendTemplateOperator: a Bird Studio template message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_sms.operators._base import _BirdSendOperator


class SendTemplateOperator(_BirdSendOperator):
    """Send a Bird Studio template message.

    :param project_id: the template's Studio project id (UUID, templated).
    :param version: ``"latest"`` or a version UUID (templated).
    :param locale: a BCP 47 locale such as ``"en"`` or ``"pt-BR"`` (templated).
    :param parameters: a dict of name to str/number/bool, or a list of Bird parameter
        dicts (templated).

    Other arguments as for :class:`SendSmsOperator`.
    """

    template_fields: Sequence[str] = (
        *_BirdSendOperator.template_fields,
        "project_id",
        "version",
        "locale",
        "parameters",
    )
    template_fields_renderers = {"parameters": "json"}
    message_kind = "template message"

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        project_id: str,
        version: str = "latest",
        locale: str = "en",
        parameters: dict | list | None = None,
        **kwargs: Any,
    ):
        super().__init__(recipients=recipients, **kwargs)
        self.project_id = project_id
        self.version = version
        self.locale = locale
        self.parameters = parameters

    def _content(self) -> dict[str, dict]:
        from airflow_provider_sms.model import template_payload

        return {
            "template": template_payload(
                self.project_id,
                version=self.version,
                locale=self.locale,
                parameters=self.parameters,
            )
        }
