"""Every Python fragment of the documentation (README.md, docs/), run against the sandbox:
executed, then each operator it built rendered and executed, each `test_*` function taking
`bird_sandbox` called (see tests/docpages.py). The DAG examples run in
tests/e2e/test_doc_dags.py."""

import pytest
from docpages import python_examples, run_fragment

FRAGMENTS = [example for example in python_examples() if not example.is_dag]


@pytest.mark.parametrize("example", FRAGMENTS, ids=[example.name for example in FRAGMENTS])
def test_the_fragment_runs_against_the_sandbox(checked_sandbox, example):
    results = run_fragment(example, checked_sandbox)
    for task_id, result in results.items():
        if isinstance(result, list):  # one entry per recipient: each one sent (or scheduled)
            # "submitted": in a batch Bird had not validated yet when the send checked it
            sent = ("accepted", "scheduled", "submitted")
            assert result and all(e["status"] in sent for e in result), (task_id, result)
