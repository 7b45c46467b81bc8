"""What the package does in one place only, checked on its code: a second retry loop, pager or
reader of Bird's listing order would drift from the first."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import airflow_provider_sms

PACKAGE = Path(airflow_provider_sms.__file__).parent
# The local Bird plays Bird's side of every listing and answer: none of this applies to it.
BIRD_SIDE = ("sandbox",)


def _modules(*under: str) -> dict[str, ast.Module]:
    """The provider's modules (under `under` when given) by dotted name below the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if name.split(".")[0] in BIRD_SIDE or under and not name.startswith(under):
            continue
        found[name] = ast.parse(path.read_text(), filename=str(path))
    return found


def _calls(tree: ast.Module) -> Iterator[tuple[str, ast.Call]]:
    """Every call in `tree`, with the qualified name of the function it stands in."""

    def visit(node: ast.AST, where: str) -> Iterator[tuple[str, ast.Call]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from visit(child, f"{where}.{child.name}".lstrip("."))
            else:
                if isinstance(child, ast.Call):
                    yield where, child
                yield from visit(child, where)

    yield from visit(tree, "")


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


# Waits in bird/ that are not retries: the rate limiter's pacing (a request waiting for its
# slot) and the fan-out's gate (senders waiting for the write-ahead record).
NOT_RETRIES = {
    ("bird.ratelimit", "_slept"),
    ("bird.ratelimit", "HostSlots.update"),
    ("bird.fanout", "_Gate.wait_for"),
}


def test_only_the_retry_loop_waits_between_attempts_in_bird():
    waits = {
        (module, where)
        for module, tree in _modules("bird.").items()
        for where, call in _calls(tree)
        if _called_name(call) in ("sleep", "wait")
    }
    assert waits - NOT_RETRIES == {("bird.client", "BirdClient.retrying")}


def _names(tree: ast.Module) -> set[str]:
    """The names, attributes and strings `tree` mentions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
    return found


def test_only_the_client_reads_the_next_page_field():
    from airflow_provider_sms.bird.client import NEXT_PAGE_FIELD

    readers = [
        module
        for module, tree in _modules().items()
        if {"NEXT_PAGE_FIELD", NEXT_PAGE_FIELD} & _names(tree)
    ]
    assert readers == ["bird.client"]


def test_no_module_outside_the_hooks_reaches_through_a_hook_to_its_client():
    # bird/ is below the hooks (it never sees one), and its `http.client` is no hook's.
    reaching = sorted(
        f"{module}:{node.lineno}"
        for module, tree in _modules().items()
        if module.split(".")[0] not in ("hooks", "bird")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("client", "get_conn")
    )
    assert reaching == []


def test_only_the_listing_module_builds_a_page_order():
    # Every newest-first reader walks a NewestFirst: find_sent, the inbound scan, and the
    # check of a reply without its code (through BirdHook.recent_messages).
    builders = sorted(
        f"{module}.{where}"
        for module, tree in _modules().items()
        for where, call in _calls(tree)
        if _called_name(call) == "PageOrder"
    )
    assert builders == ["bird.listing.NewestFirst.__init__"]
