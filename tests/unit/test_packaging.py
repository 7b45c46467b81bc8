"""What the published package carries: the wheel and the sdist are built here with the
project's own build backend (flit_core), offline, and looked into."""

from __future__ import annotations

import configparser
import contextlib
import email
import re
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import airflow_provider_sms

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
DIST = "airflow_provider_sms-" + PROJECT["version"]
# The sandbox, a distribution of its own released with the provider (sandbox/pyproject.toml).
SANDBOX = ROOT / "sandbox"
SANDBOX_PROJECT = tomllib.loads((SANDBOX / "pyproject.toml").read_text())["project"]
SANDBOX_DIST = "bird_sandbox-" + SANDBOX_PROJECT["version"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``(wheel, sdist)`` paths, built from the working tree."""
    buildapi = pytest.importorskip("flit_core.buildapi", reason="flit_core is a test dependency")
    out = tmp_path_factory.mktemp("dist")
    with contextlib.chdir(ROOT):
        wheel = out / buildapi.build_wheel(str(out))
        sdist = out / buildapi.build_sdist(str(out))
    return wheel, sdist


@pytest.fixture(scope="module")
def sandbox_wheel(tmp_path_factory):
    """The sandbox's wheel, built from the working tree."""
    buildapi = pytest.importorskip("flit_core.buildapi", reason="flit_core is a test dependency")
    out = tmp_path_factory.mktemp("sandbox-dist")
    with contextlib.chdir(SANDBOX):
        return out / buildapi.build_wheel(str(out))


def _wheel_text(wheel: Path, name: str, dist: str = DIST) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(f"{dist}.dist-info/{name}").decode()


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _metadata(text: str) -> email.message.Message:
    return email.message_from_string(text)


# LICENSE -------------------------------------------------------------------------------------


def test_the_license_file_is_the_apache_license_2_0():
    text = (ROOT / "LICENSE").read_text()
    assert PROJECT["license"] == "Apache-2.0"
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    assert "http://www.apache.org/licenses/" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    for section in (
        "1. Definitions.",
        "2. Grant of Copyright License.",
        "3. Grant of Patent License.",
        "4. Redistribution.",
        "5. Submission of Contributions.",
        "6. Trademarks.",
        "7. Disclaimer of Warranty.",
        "8. Limitation of Liability.",
        "9. Accepting Warranty or Additional Liability.",
    ):
        assert section in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_license_file_is_declared():
    assert PROJECT["license-files"] == ["LICENSE"]


def test_the_wheel_carries_the_license(built):
    wheel, _ = built
    license_text = (ROOT / "LICENSE").read_text()
    assert _wheel_text(wheel, "licenses/LICENSE") == license_text
    metadata = _metadata(_wheel_text(wheel, "METADATA"))
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]


def test_the_sdist_carries_the_license(built):
    _, sdist = built
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        assert f"{DIST}/LICENSE" in names, names
        license_text = archive.extractfile(f"{DIST}/LICENSE").read().decode()
        metadata = _metadata(archive.extractfile(f"{DIST}/PKG-INFO").read().decode())
    assert license_text == (ROOT / "LICENSE").read_text()
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]


# Classifiers and URLs ------------------------------------------------------------------------


def test_the_wheel_offers_no_development_extras(built):
    wheel, _ = built
    metadata = _metadata(_wheel_text(wheel, "METADATA"))
    assert metadata.get_all("Provides-Extra") is None
    # What developing it needs is in dependency groups, which are never published.
    assert {"test", "bench", "docs"} <= set(PYPROJECT["dependency-groups"])
    assert "optional-dependencies" not in PROJECT


def test_classifiers_name_the_python_versions_and_a_development_status(built):
    wheel, _ = built
    classifiers = _metadata(_wheel_text(wheel, "METADATA")).get_all("Classifier")
    assert classifiers == PROJECT["classifiers"]
    versions = [
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    # The suite passes on these; the lowest is what requires-python allows.
    assert {"3.11", "3.12"} <= set(versions)
    assert PROJECT["requires-python"] == f">={min(versions, key=lambda v: int(v[2:]))}"
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert len([c for c in classifiers if c.startswith("Development Status :: ")]) == 1
    # With a license expression, license classifiers are not allowed (PEP 639).
    assert not [c for c in classifiers if c.startswith("License :: ")]


def test_project_urls_include_the_changelog_and_the_issue_tracker(built):
    wheel, _ = built
    urls = dict(
        entry.split(", ", 1)
        for entry in _metadata(_wheel_text(wheel, "METADATA")).get_all("Project-URL")
    )
    assert urls == PROJECT["urls"]
    assert urls["Changelog"].endswith("/CHANGELOG.md")
    assert urls["Issues"].endswith("/issues")
    for url in urls.values():
        assert url.startswith("https://github.com/airflow-provider-sms/airflow-provider-sms")


def test_the_changelog_has_an_entry_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert PROJECT["version"] == airflow_provider_sms.__version__
    assert re.search(rf"^## \[?{re.escape(PROJECT['version'])}\]?\b", changelog, re.M), changelog


# Entry points --------------------------------------------------------------------------------


def test_the_pytest_plugin_is_not_registered_for_every_pytest_run(built):
    # The bird_sandbox fixture is opt-in: `-p bird_sandbox.pytest_plugin`
    # or `pytest_plugins = [...]`; nothing loads into test runs that did not ask for it.
    wheel, _ = built
    entry_points = configparser.ConfigParser(delimiters=("=",))
    entry_points.read_string(_wheel_text(wheel, "entry_points.txt"))
    assert "pytest11" not in entry_points
    assert "pytest11" not in PROJECT.get("entry-points", {})
    assert dict(entry_points["apache_airflow_provider"]) == {
        "provider_info": "airflow_provider_sms.get_provider_info:get_provider_info"
    }


def test_the_sandbox_registers_no_entry_point_either(sandbox_wheel):
    names = [name for name in _wheel_names(sandbox_wheel) if name.endswith("entry_points.txt")]
    assert names == []
    assert "entry-points" not in SANDBOX_PROJECT


# The sandbox, a distribution of its own ----------------------------------------------------


def test_the_provider_wheel_carries_no_sandbox_schema_or_jsonschema(built):
    wheel, _ = built
    names = _wheel_names(wheel)
    assert "airflow_provider_sms/bird/facts.py" in names
    assert [n for n in names if "sandbox" in n or "schema" in n or n.endswith(".json")] == []
    requires = _metadata(_wheel_text(wheel, "METADATA")).get_all("Requires-Dist")
    runtime = [r for r in requires if "extra ==" not in r]
    assert [r for r in runtime if r.startswith("jsonschema")] == []


def test_the_sandbox_wheel_carries_birds_schema_and_its_source(sandbox_wheel):
    names = _wheel_names(sandbox_wheel)
    vendored = sorted((SANDBOX / "bird_sandbox" / "schema").glob("*.json"))
    assert len(vendored) == 2
    for path in [*vendored, SANDBOX / "bird_sandbox" / "schema" / "SOURCE.md"]:
        assert path.relative_to(SANDBOX).as_posix() in names
    assert "bird_sandbox/pytest_plugin.py" in names
    assert [n for n in names if n.startswith("airflow_provider_sms/")] == []


def test_the_sandbox_is_released_with_the_provider_at_the_same_version(sandbox_wheel):
    metadata = _metadata(_wheel_text(sandbox_wheel, "METADATA", SANDBOX_DIST))
    assert metadata["Name"] == "bird-sandbox"
    assert metadata["Version"] == PROJECT["version"] == airflow_provider_sms.__version__
    requires = metadata.get_all("Requires-Dist")
    assert f"airflow-provider-sms=={PROJECT['version']}" in requires
    # Its one dependency of its own, at the range the provider's tests use it at.
    [jsonschema] = [r for r in PYPROJECT["dependency-groups"]["test"] if "jsonschema" in r]
    assert jsonschema in requires
    assert SANDBOX_PROJECT["requires-python"] == PROJECT["requires-python"]
    assert metadata["License-Expression"] == PROJECT["license"]
    assert (
        _wheel_text(sandbox_wheel, "licenses/LICENSE", SANDBOX_DIST)
        == (ROOT / "LICENSE").read_text()
    )
