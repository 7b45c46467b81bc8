"""The documentation site as `make docs` builds it: a reference page for every public class,
each argument described; the installation and changelog pages; code highlighted at build
time; nothing loaded from another host."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The components the provider registers with Airflow (its provider info): the public contract.
PUBLIC = {
    "BirdHook",
    "SendSmsOperator",
    "SendMmsOperator",
    "SendTemplateOperator",
    "MessageInteractionsOperator",
    "SmsApprovalOperator",
    "SmsNotifier",
    "MessageStatusSensor",
    "ReplySensor",
    "MessageStatusTrigger",
    "ReplyTrigger",
    "InboundMessageTrigger",
    "SmsApprovalTrigger",
}
# A resource the browser fetches by itself (not a link a reader follows) from another host.
FOREIGN = re.compile(
    r"<(?:script|img|iframe|source)\b[^>]*\bsrc=[\"'](?:https?:)?//"
    r"|<link\b[^>]*\bhref=[\"'](?:https?:)?//"
    r"|url\(\s*[\"']?(?:https?:)?//"
    r"|@import\s+[\"'](?:https?:)?//",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs", reason="the site is built on the newest minor (make docs)")
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        check=True,
    )
    return out


def test_the_reference_has_a_page_for_every_public_class_and_no_other(site):
    import importlib.util

    spec = importlib.util.spec_from_file_location("hooks", ROOT / "docs" / "_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    assert {cls.__name__ for cls in hooks.public_classes()} == PUBLIC
    pages = {p.parent.name for p in (site / "reference").glob("*/index.html")}
    assert pages == PUBLIC


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_reference_page_describes_every_argument(site, name):
    page = (site / "reference" / name / "index.html").read_text()
    rows = re.findall(
        r"<tr>\s*<td><code>(\w+)</code></td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page, re.S
    )
    assert rows, f"{name}: no arguments listed"
    assert [arg for arg, _, meaning in rows if not meaning.strip()] == []


def test_the_installation_and_changelog_pages_are_built(site):
    installation = (site / "installation" / "index.html").read_text()
    assert "constraints-3.3.txt" in installation
    changelog = (site / "changelog" / "index.html").read_text()
    assert "[0.1.0] - Unreleased" in changelog
    # Its links into the documentation point at the site's own pages.
    assert 'href="../production/#metrics"' in changelog


def test_code_is_highlighted_when_built_and_nothing_comes_from_another_host(site):
    first_dag = (site / "index.html").read_text()
    assert (
        '<div class="codehilite"><pre>' in first_dag and '<span class="kn">from</span>' in first_dag
    )
    loaded = []
    for path in site.rglob("*"):
        if path.suffix in (".html", ".css", ".js") and FOREIGN.search(
            path.read_text(errors="replace")
        ):
            loaded.append(str(path.relative_to(site)))
    assert loaded == []
