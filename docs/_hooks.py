"""MkDocs hooks (mkdocs.yml's `hooks`): the reference pages, one per public class, written from
the package's docstrings and signatures when the site is built; and the changelog page, from
CHANGELOG.md. Not a page itself (`exclude_docs`)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "https://github.com/airflow-provider-sms/airflow-provider-sms/blob/main/"
_PARAM = re.compile(r"^:param (\w+):\s*(.*)$")
# The provider info's lists that name Airflow components, by the module they live in.
_KINDS = ("hooks", "operators", "sensors", "triggers")


def public_classes() -> list[type]:
    """The Airflow components the provider registers (its provider info): hooks, operators,
    sensors, triggers and notifiers, in the order of their modules."""
    from airflow_provider_sms.compat import BaseHook, BaseNotifier, BaseOperator, BaseTrigger
    from airflow_provider_sms.get_provider_info import get_provider_info

    info = get_provider_info()
    components = (BaseHook, BaseNotifier, BaseOperator, BaseTrigger)
    found: list[type] = []
    for kind in _KINDS:
        for entry in info[kind]:
            for name in entry["python-modules"]:
                module = importlib.import_module(name)
                found += [
                    cls
                    for _, cls in inspect.getmembers(module, inspect.isclass)
                    if cls.__module__ == name
                    and not cls.__name__.startswith("_")
                    and issubclass(cls, components)
                ]
    for path in info["notifications"]:
        module, _, name = path.rpartition(".")
        found.append(getattr(importlib.import_module(module), name))
    return found


def page_of(cls: type) -> str:
    return f"reference/{cls.__name__}.md"


def _split(doc: str) -> tuple[str, dict[str, str]]:
    """A docstring's prose, and its ``:param name:`` entries (continuation lines joined)."""
    prose: list[str] = []
    params: dict[str, str] = {}
    current = None
    for line in inspect.cleandoc(doc or "").splitlines():
        match = _PARAM.match(line)
        if match:
            current = match.group(1)
            params[current] = match.group(2)
        elif current is not None and line.startswith(" "):
            params[current] += " " + line.strip()
        else:
            current = None
            prose.append(line)
    return "\n".join(prose).strip(), params


def _markdown(text: str) -> str:
    """reST's inline literals and cross-references, as Markdown."""
    text = re.sub(r":\w+:`~?([\w.]+)`", lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", text)
    return text.replace("``", "`")


def _arguments(cls: type) -> list[tuple[str, str, str]]:
    """(name, default, meaning) of each argument `cls` takes, its own first, then those it
    passes on to the provider's classes above it (not Airflow's)."""
    seen: dict[str, tuple[str, str, str]] = {}
    described: dict[str, str] = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("airflow_provider_sms"):
            break
        described = {**_split(klass.__doc__ or "")[1], **described}
        if "__init__" not in vars(klass):
            continue
        for parameter in inspect.signature(klass.__init__).parameters.values():
            if parameter.name == "self" or parameter.kind in (
                parameter.VAR_KEYWORD,
                parameter.VAR_POSITIONAL,
            ):
                continue
            default = (
                "required" if parameter.default is parameter.empty else f"`{parameter.default!r}`"
            )
            seen.setdefault(parameter.name, (parameter.name, default, ""))
    return [(name, default, described.get(name, "")) for name, default, _ in seen.values()]


def reference_page(cls: type) -> str:
    prose, _ = _split(cls.__doc__ or "")
    lines = [
        f"# {cls.__name__}",
        "",
        f"`from {cls.__module__} import {cls.__name__}`",
        "",
        _markdown(prose),
        "",
        "## Arguments",
        "",
        "| argument | default | meaning |",
        "|---|---|---|",
    ]
    for name, default, meaning in _arguments(cls):
        cells = (f"`{name}`", default, _markdown(meaning))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    templated = getattr(cls, "template_fields", ())
    if templated:
        lines += ["", "## Templated fields", "", ", ".join(f"`{f}`" for f in templated)]
    source = REPOSITORY + cls.__module__.replace(".", "/") + ".py"
    lines += ["", f"Source: [{cls.__module__}]({source})", ""]
    return "\n".join(lines)


def changelog_page() -> str:
    """CHANGELOG.md, its links made to work from the site's root."""
    text = (ROOT / "CHANGELOG.md").read_text()
    return re.sub(r"\]\(docs/([^)]*)\)", r"](\1)", text)


def on_files(files, config):
    from mkdocs.structure.files import File

    for cls in public_classes():
        files.append(File.generated(config, page_of(cls), content=reference_page(cls)))
    files.append(File.generated(config, "changelog.md", content=changelog_page()))
    return files
