"""The examples of the documentation (README.md and every page under docs/), for the tests
that run them: each ```python block, and each `export AIRFLOW_CONN_...` of a bash block.

A Python block is one of two kinds:

- a **DAG**: it holds ``with DAG(`` (or ``@dag``); it is written to a DAG folder and run
  with ``airflow dags test`` (tests/e2e/test_doc_dags.py);
- a **fragment**: anything else; it is executed in a fresh namespace and, afterwards, what
  it left there is run as Airflow would (``run_fragment``; tests/integration/
  test_doc_examples.py): each operator it built, in the order they were built, rendered
  and executed against the sandbox (an operator that defers has its trigger run to the
  end and its callback called); each ``test_*`` function taking ``bird_sandbox`` called
  with the running sandbox; each notifier called as a callback would be.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# Placeholders the pages write in connection examples, and what the tests fill in.
PLACEHOLDERS = {
    "<access key>": "doc-example-access-key",
    "<workspace uuid>": "5d31ef73-de34-4006-a7ea-3b91aaa8ef9c",
    "<channel uuid>": "b6679638-ceb5-4d0d-9af2-ac6bc33b01fd",
}

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", flags=re.S | re.M)


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    code: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def is_dag(self) -> bool:
        return "with DAG(" in self.code or "@dag" in self.code

    @property
    def param(self) -> Any:
        """The example as a test parameter, marked with the Airflow version each feature it
        uses needs (`compat.NEEDS`): skipped on an older one, whose refusal other tests show."""
        import pytest

        from airflow_provider_sms.compat import NEEDS

        marks = [
            pytest.mark.needs_airflow(f"{major}.{minor}", feature=why)
            for feature, ((major, minor), why) in NEEDS.items()
            if re.search(rf"\b{feature}\b", self.code)
        ]
        return pytest.param(self, id=self.name, marks=marks)

    @property
    def dag_id(self) -> str | None:
        found = re.search(r"""dag_id=["']([\w.-]+)["']""", self.code)
        if found:
            return found.group(1)
        found = re.search(r"@dag\b.*?\ndef (\w+)", self.code, flags=re.S)
        return found.group(1) if found else None


def _blocks(page: Path, language: str) -> list[Example]:
    text = page.read_text()
    return [
        Example(page, text.count("\n", 0, match.start()) + 1, match.group(2))
        for match in _FENCE.finditer(text)
        if match.group(1) == language
    ]


def python_examples() -> list[Example]:
    """Every ```python block of every page."""
    return [example for page in PAGES for example in _blocks(page, "python")]


def connection_exports(page: Path | None = None) -> dict[str, str]:
    """Every `export AIRFLOW_CONN_...='...'` in the bash blocks of one page (or all of
    them): variable name -> value, placeholders filled in."""
    exports = {}
    for example in _blocks(page, "bash") if page else _all("bash"):
        words = shlex.split(example.code, comments=True)
        for i, word in enumerate(words):
            if word == "export" and words[i + 1].startswith("AIRFLOW_CONN_"):
                name, _, value = words[i + 1].partition("=")
                for placeholder, filled in PLACEHOLDERS.items():
                    value = value.replace(placeholder, filled)
                exports[name] = value
    return exports


def _all(language: str) -> list[Example]:
    return [example for page in PAGES for example in _blocks(page, language)]


# -- running a fragment -------------------------------------------------------------------

# What a fragment's templates may use, as in a run on that day.
DS = "2026-06-01"


class _TaskInstance:
    """What the provider reads of a task instance: its identity and try."""

    def __init__(self, task_id: str):
        self.dag_id = "doc_examples"
        self.run_id = f"manual__{DS}T08:00:00+00:00"
        self.task_id = task_id
        self.map_index = -1
        self.try_number = 1
        self.max_tries = 0


def _context(task_id: str) -> dict[str, Any]:
    # As Airflow's: a callback's context has its DAG (here none), which 3.0's notifier reads.
    ti = _TaskInstance(task_id)
    return {"ds": DS, "ti": ti, "task_instance": ti, "dag": None}


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    """An upstream operator's ``.output`` becomes what that operator returned."""
    from airflow.providers.common.compat.sdk import XComArg

    if isinstance(value, XComArg) and hasattr(value, "operator"):
        return results[value.operator.task_id]
    return value


def _run_operator(operator: Any, results: dict[str, Any]) -> Any:
    import asyncio

    from airflow.providers.common.compat.sdk import TaskDeferred

    for field in operator.template_fields:
        setattr(operator, field, _resolve(getattr(operator, field), results))
    context = _context(operator.task_id)
    operator.render_template_fields(context)
    try:
        return operator.execute(context)
    except TaskDeferred as deferred:
        event = asyncio.run(_first_event(deferred.trigger))
        return getattr(operator, deferred.method_name)(context, event.payload)


async def _first_event(trigger: Any) -> Any:
    async for event in trigger.run():
        return event
    raise AssertionError(f"{trigger!r} ended without an event")


def run_fragment(example: Example, sandbox: Any) -> dict[str, Any]:
    """Execute the fragment, then run what it built (see the module's docstring). Returns
    what each operator returned, by task id."""
    namespace: dict[str, Any] = {"__name__": "doc_example"}
    environ = dict(os.environ)
    try:
        exec(compile(_keep_expressions(example.code), example.name, "exec"), namespace)
        return _run_namespace(namespace, sandbox)
    finally:  # a fragment may point the connection at a sandbox of its own
        os.environ.clear()
        os.environ.update(environ)


def _keep_expressions(code: str) -> Any:
    """The fragment's syntax tree, with the value of each top-level expression statement kept
    in the namespace (``SendSmsOperator(...)`` alone on its lines builds an operator to run)."""
    import ast

    tree = ast.parse(code)
    for i, statement in enumerate(tree.body):
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            target = ast.Name(id=f"_expression_{i}", ctx=ast.Store())
            tree.body[i] = ast.copy_location(
                ast.Assign(targets=[target], value=statement.value), statement
            )
    return ast.fix_missing_locations(tree)


def _run_namespace(namespace: dict[str, Any], sandbox: Any) -> dict[str, Any]:
    import inspect

    from airflow.providers.common.compat.sdk import BaseNotifier, BaseOperator

    results: dict[str, Any] = {}
    operators = []
    for value in namespace.values():
        if isinstance(value, BaseOperator) and value not in operators:
            operators.append(value)
            downstream = value.get_flat_relatives(upstream=False)
            operators.extend(task for task in downstream if task not in operators)
    for operator in operators:
        results[operator.task_id] = _run_operator(operator, results)
    for value in namespace.values():
        if isinstance(value, BaseNotifier):  # as a callback would (which logs any error)
            context = _context("load_warehouse")
            value.render_template_fields(context)
            value.notify(context)
    for name, value in namespace.items():
        if not name.startswith("test_") or not callable(value):
            continue  # e.g. an imported class, whose signature may be unknown (timedelta)
        if "bird_sandbox" in inspect.signature(value).parameters:
            value(bird_sandbox=sandbox)
    return results
