"""The Bird connection form of Airflow 2 as a person sees it: Airflow's web server (Flask
AppBuilder, SQLite) with the provider installed, the form in headless Chromium, and the saved
connection read back through the REST API.

Screenshots of the form (and, on a failure, the page and the web server's log) are kept in
`.artifacts/connection-form-fab/`."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser import chromium_context
from playwright.sync_api import expect
from redis_server import free_port

from airflow_provider_sms.get_provider_info import get_provider_info
from airflow_provider_sms.testing import AirflowHome

pytestmark = pytest.mark.only_airflow("2", feature="the Flask AppBuilder connection form")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts" / "connection-form-fab"

[BIRD] = get_provider_info()["connection-types"]
ADMIN = ("admin", secrets.token_hex(8))

ACCESS_KEY = "bird-access-key-from-the-form-0123456789"
REDIS_PASSWORD = "S3cretRedisPw/from-the-form"
SIGNING_SECRET = "whsec-from-the-form-9876543210"
BASE_URL = "https://api.bird.com"
# What is typed in each extra field (a boolean: whether it is ticked).
TYPED = {
    "workspace_id": "3f6f7a1e-2b1c-4d5e-9f00-1a2b3c4d5e6f",
    "channel_id": "9c8b7a6f-5e4d-4c3b-8a29-180706f5e4d3",
    "max_requests_per_second": "40",
    "share_rate_limit_on_host": False,
    "rate_limit_redis_url": "redis://redis.internal:6379/3",
    "rate_limit_redis_password": REDIS_PASSWORD,
    "timeout": "12.5",
    "max_retries": "3",
    "dry_run": True,
    "max_messages": "500",
    "max_total_segments": "1200",
    "retry_backoff": "0.25",
    "webhook_signing_secret": SIGNING_SECRET,
    "webhook_url": "https://airflow.example.com/bird/webhooks/bird_from_ui",
}
# As the form stores them: integers as numbers, other numbers as the text typed.
SAVED_EXTRA = {
    **TYPED,
    "max_requests_per_second": 40,
    "max_retries": 3,
    "max_messages": 500,
    "max_total_segments": 1200,
}
SECRET_EXTRAS = ("rate_limit_redis_password", "webhook_signing_secret")


class WebServer:
    """`airflow webserver` (one gunicorn worker, threaded) on a loopback port, in a migrated
    home with an admin user; the REST API takes that user's basic auth."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "webserver.log"
        (folder / "dags").mkdir()
        backends = "airflow.providers.fab.auth_manager.api.auth.backend"
        self.home = AirflowHome(
            folder / "home",
            folder / "dags",
            {
                # Basic auth for the tests, the session for the UI's own calls.
                "AIRFLOW__API__AUTH_BACKENDS": f"{backends}.basic_auth,{backends}.session",
                "AIRFLOW__WEBSERVER__SECRET_KEY": secrets.token_hex(16),
                # Threads, not a sync worker: Chromium keeps spare connections open, unused,
                # for ~10 s, and a sync worker waits on one meanwhile. No control socket: it
                # would be one for every server of the machine.
                "GUNICORN_CMD_ARGS": "--threads 4 --no-control-socket",
            },
        )
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> None:
        self.home.migrate()
        user, password = ADMIN
        self.home.airflow(
            *("users", "create", "--role", "Admin", "--username", user, "--password", password),
            *("--firstname", "Ada", "--lastname", "Admin", "--email", "admin@example.com"),
        )
        command = [*self.home.airflow_command(), "webserver", "--hostname", "127.0.0.1"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), "--workers", "1"],
                env=self.home.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its gunicorn and worker are stopped with it
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the web server exited:\n{self.log.read_text()[-4000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            time.sleep(0.5)
        raise RuntimeError(f"the web server did not answer in {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the web server and every process it started (its session), by its PID."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def connection(self, connection_id: str) -> tuple[int, dict]:
        """GET /api/v1/connections/<id> as the admin: the status and the answer."""
        token = base64.b64encode(":".join(ADMIN).encode()).decode()
        request = urllib.request.Request(
            f"{self.url}/api/v1/connections/{connection_id}",
            headers={"Authorization": f"Basic {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def webserver(request, tmp_path_factory):
    server = WebServer(tmp_path_factory.mktemp("webserver"))
    failed_before = request.session.testsfailed
    started = False
    try:
        server.start()
        started = True
        yield server
    finally:
        server.stop()
        if not started or request.session.testsfailed > failed_before:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(server.log, ARTIFACTS / "webserver.log")


@pytest.fixture(scope="module")
def browser(webserver):
    """A browser logged in as the admin."""
    with chromium_context(viewport={"width": 1280, "height": 1400}) as context:
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto(f"{webserver.url}/login/")
        user, password = ADMIN
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign In").click()
        page.get_by_role("link", name="DAGs").first.wait_for()
        page.close()
        yield context


@pytest.fixture
def page(request, webserver, browser):
    """A page on the add-connection form; on a failure its screenshot is kept."""
    page = browser.new_page()
    page.goto(f"{webserver.url}/connection/add")
    failed = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failed:
            screenshot(page, f"failed-{request.node.name}.png")
        page.close()


def screenshot(page, name: str) -> None:
    """The whole page, from its top (scrolled, the fixed menu bar would hide a field)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=ARTIFACTS / name, full_page=True)


def choose_type(page, name: str) -> None:
    """Pick the connection type as a person does, in the form's Select2 list."""
    page.get_by_role("combobox").click()
    page.get_by_role("searchbox").fill(name)
    page.get_by_role("option", name=name, exact=True).click()


def save(page) -> int:
    """Click Save: the status of the form's POST (a redirect when saved, the form again when
    refused)."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/connection/add" in r.url
    ) as posted:
        page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    return posted.value.status


def extra_input(page, name: str):
    return page.locator(f"#extra__bird__{name}")


def fill_bird_form(page, connection_id: str, extras: dict) -> None:
    page.get_by_label("Connection Id").fill(connection_id)
    choose_type(page, "Bird")
    page.get_by_label("Description").fill("Bird, added in the connection form")
    page.get_by_label("API base URL").fill(BASE_URL)
    page.get_by_label("Access key").fill(ACCESS_KEY)
    for name, value in extras.items():
        if isinstance(value, bool):
            extra_input(page, name).set_checked(value)
        else:
            extra_input(page, name).fill(value)


def test_choosing_bird_shows_its_fields_with_their_labels(page):
    choose_type(page, "HTTP")
    expect(extra_input(page, "workspace_id")).to_have_count(0)
    expect(page.get_by_label("Login")).to_be_visible()

    choose_type(page, "Bird")
    behaviour = BIRD["ui-field-behaviour"]
    for hidden in behaviour["hidden-fields"]:
        expect(page.locator(f"#{hidden}")).to_be_hidden()
    for field, label in behaviour["relabeling"].items():
        expect(page.locator(f"label[for='{field}']")).to_have_text(label)
    for field, placeholder in behaviour["placeholders"].items():
        expect(page.locator(f"#{field}")).to_have_attribute("placeholder", placeholder)
    expect(page.get_by_label("Access key")).to_have_attribute("type", "password")
    for name, field in BIRD["conn-fields"].items():
        shown = page.get_by_label(field["label"], exact=True)
        expect(shown).to_be_visible()
        expect(shown).to_have_id(f"extra__bird__{name}")
        expect(shown).not_to_have_attribute("required", "")
    for name in SECRET_EXTRAS:
        expect(extra_input(page, name)).to_have_attribute("type", "password")
    expect(extra_input(page, "share_rate_limit_on_host")).to_be_checked()
    expect(extra_input(page, "dry_run")).not_to_be_checked()


def test_a_bird_connection_without_a_workspace_id_is_refused_naming_it(page, webserver):
    fill_bird_form(page, "bird_no_workspace", {"channel_id": TYPED["channel_id"]})
    assert save(page) == 200  # the form again
    workspace_row = page.locator("tr").filter(has=extra_input(page, "workspace_id"))
    expect(workspace_row).to_contain_text("Workspace ID is required for a Bird connection")
    expect(extra_input(page, "channel_id")).to_have_value(TYPED["channel_id"])
    screenshot(page, "bird-form-without-workspace.png")
    assert webserver.connection("bird_no_workspace")[0] == 404


def test_another_type_is_saved_without_a_workspace_id(page, webserver):
    page.get_by_label("Connection Id").fill("http_beside_bird")
    choose_type(page, "HTTP")
    page.get_by_label("Host").fill("example.com")
    assert save(page) == 302
    status, saved = webserver.connection("http_beside_bird")
    assert (status, saved["conn_type"], saved["host"]) == (200, "http", "example.com")


def test_a_filled_form_is_saved_and_read_back_through_the_rest_api(page, webserver):
    assert sorted(TYPED) == sorted(BIRD["conn-fields"])  # every field is filled
    fill_bird_form(page, "bird_from_ui", TYPED)
    screenshot(page, "bird-form-filled.png")
    assert save(page) == 302

    status, saved = webserver.connection("bird_from_ui")
    assert status == 200, saved
    assert saved["conn_type"] == "bird"
    assert saved["host"] == BASE_URL
    assert saved["description"] == "Bird, added in the connection form"
    # Airflow 2's API never returns the password; it masks the extras named as secrets.
    assert "password" not in saved
    assert json.loads(saved["extra"]) == {**SAVED_EXTRA, **dict.fromkeys(SECRET_EXTRAS, "***")}
    answer = json.dumps(saved)
    assert all(secret not in answer for secret in (ACCESS_KEY, REDIS_PASSWORD, SIGNING_SECRET))

    # The secrets themselves were stored, not their masks: Airflow's own CLI reads them back.
    got = webserver.home.airflow("connections", "get", "bird_from_ui", "-o", "json").stdout
    [stored] = json.loads(got.splitlines()[-1])
    assert stored["password"] == ACCESS_KEY
    assert [stored["extra_dejson"][name] for name in SECRET_EXTRAS] == [
        REDIS_PASSWORD,
        SIGNING_SECRET,
    ]
