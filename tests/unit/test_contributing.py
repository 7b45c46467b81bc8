"""CONTRIBUTING.md's layer table says what tests/layers.py declares (and the layer test checks
in the code): one row per layer, naming exactly what it may import from the package. Its three
flows name modules that exist, in at most ten lines each."""

import re
from pathlib import Path

from layers import ALLOWED, SANDBOX, SANDBOX_ALLOWED

import airflow_provider_sms

CONTRIBUTING = Path(__file__).parents[2] / "CONTRIBUTING.md"
TICKED = re.compile(r"`([^`]+)`")


def _layer_table() -> dict[str, set[str]]:
    """Each layer of the first column of the table under "Layout and layers" (`bird/`,
    `redaction.py`), with the names in its last column ("nothing" for none)."""
    section = CONTRIBUTING.read_text().split("\n## Layout and layers\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    table: dict[str, set[str]] = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        imports = set() if cells[-1] == "nothing" else set(TICKED.findall(cells[-1]))
        for name in TICKED.findall(cells[0]):
            layer = name.removesuffix("/").removesuffix(".py")
            assert layer not in table, f"{layer} has two rows"
            table[layer] = imports
    return table


def test_the_layer_table_lists_what_each_layer_may_import():
    assert _layer_table() == {**ALLOWED, SANDBOX: SANDBOX_ALLOWED}


PACKAGE = Path(airflow_provider_sms.__file__).parent
MODULE = re.compile(r"`((?:[a-z_]+/)*[a-z_]+\.py)`")


def _flows() -> dict[str, list[str]]:
    section = CONTRIBUTING.read_text().split("\n## Three flows\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    flows = {}
    for part in section.split("\n### ")[1:]:
        title, *lines = part.strip().splitlines()
        flows[title] = [line for line in lines if line.strip()]
    return flows


def test_the_three_flows_are_each_at_most_ten_lines():
    flows = _flows()
    assert len(flows) == 3
    assert {title: len(lines) for title, lines in flows.items() if len(lines) > 10} == {}


def test_the_flows_name_only_modules_that_exist():
    named = {module for lines in _flows().values() for module in MODULE.findall("\n".join(lines))}
    assert len(named) > 15
    assert sorted(m for m in named if not (PACKAGE / m).is_file()) == []
