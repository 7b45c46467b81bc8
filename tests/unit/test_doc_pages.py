"""The documentation's examples that need no sandbox: connection exports, Python syntax, the
README's size. The Python examples run in tests/integration/test_doc_examples.py (fragments)
and tests/e2e/test_doc_dags.py (DAGs)."""

import pytest
from docpages import ROOT, connection_exports, python_examples

from airflow_provider_sms.hooks.bird import BirdHook

EXPORTS = connection_exports()


def test_the_pages_hold_examples():
    assert len(EXPORTS) >= 7
    assert len(python_examples()) >= 20


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_exported_connection_is_a_valid_bird_connection(monkeypatch, name):
    monkeypatch.setenv(name, EXPORTS[name])
    settings = BirdHook(name.removeprefix("AIRFLOW_CONN_").lower()).settings
    assert settings.workspace_id == "5d31ef73-de34-4006-a7ea-3b91aaa8ef9c"
    assert settings.base_url.startswith(("https://", "http://127.0.0.1:", "http://[::1]:"))


@pytest.mark.parametrize("example", python_examples(), ids=lambda example: example.name)
def test_each_python_example_compiles_and_each_dag_names_its_id(example):
    compile(example.code, example.name, "exec")
    if example.is_dag:
        assert example.dag_id, f"{example.name}: a DAG example must give dag_id=..."


REPOSITORY = "https://github.com/airflow-provider-sms/airflow-provider-sms/blob/main/"
LINK = r"\]\(([^)]*)\)"


def test_the_readme_is_at_most_6_kb_of_text():
    # Its words, not its links' addresses (absolute, below).
    import re

    text = re.sub(LINK, "]()", (ROOT / "README.md").read_text())
    assert len(text.encode()) <= 6000


def test_the_readmes_links_are_absolute_and_those_into_the_repository_exist():
    # The package index shows the README without the repository around it.
    import re

    targets = re.findall(LINK, (ROOT / "README.md").read_text())
    assert len(targets) >= 20
    assert [t for t in targets if not t.startswith("https://")] == []
    for target in targets:
        if target.startswith(REPOSITORY):
            path = target.removeprefix(REPOSITORY).split("#")[0]
            assert (ROOT / path).is_file(), target


def test_every_test_the_compatibility_page_names_exists():
    import ast
    import re

    page = (ROOT / "docs" / "compatibility.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", page)
    assert len(named) >= 10
    for path, name in named:
        tree = ast.parse((ROOT / path).read_text())
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name in functions, f"{path}::{name}"
