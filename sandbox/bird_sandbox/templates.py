"""Template sends: the catalogue's Studio templates, found by ``projectId`` or by their platform
``name`` (Bird's ``Template`` allows either), rendered in the message's locale with its
parameters."""

from __future__ import annotations

import re
from typing import Any

from .catalogue import TEMPLATES
from .errors import ApiError, invalid, not_found

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def find_project(template: dict) -> dict:
    """The catalogue's template project that ``template`` names: by ``projectId``, else by
    ``name``; both given, they must name the same one."""
    project_id, name = template.get("projectId"), template.get("name")
    if project_id:
        project = TEMPLATES.get(project_id)
        if project is None or (name and project["name"] != name):
            raise not_found("template project")
        return project
    project = next((p for p in TEMPLATES.values() if p["name"] == name), None)
    if project is None:
        raise not_found("template")
    return project


def render_template(template: dict) -> str:
    """What the recipient reads: the template's text in its locale, its parameters filled in;
    Bird's 404, 409 or 422 for a version, locale or parameter that does not fit."""
    project = find_project(template)
    version_id = template.get("version") or "latest"
    if version_id == "latest":
        version = next(v for v in project["versions"].values() if v["active"])
    else:
        version = project["versions"].get(version_id)
        if version is None:
            raise not_found("template version")
        if not version["active"]:
            raise ApiError(
                409, "ConflictingConditions", f"template version {version_id} is not active"
            )
    locale = template.get("locale") or "en"
    text = version["texts"].get(locale) or version["texts"].get(locale.split("-")[0].lower())
    if text is None:
        available = ", ".join(sorted(version["texts"]))
        raise invalid({"template.locale": [f"locale {locale!r} is not available ({available})"]})
    values: dict[str, Any] = dict(template.get("variables") or {})
    problems: dict[str, list[str]] = {}
    for index, parameter in enumerate(template.get("parameters") or []):
        declared = project["parameters"].get(parameter["key"])
        if declared is not None and parameter["type"] != declared:
            problems[f"template.parameters.{index}.type"] = [f"must be {declared}"]
        values[parameter["key"]] = parameter.get("value")
    for name in project["parameters"]:
        if values.get(name) is None:
            problems.setdefault("template.parameters", []).append(f"parameter {name!r} is required")
    if problems:
        raise invalid(problems)
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
