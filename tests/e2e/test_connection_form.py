"""The Bird connection form as a person sees it: Airflow's API server with the provider
installed (PostgreSQL, the real processes), its React UI in headless Chromium, and the saved
connection read back through the public REST API.

Screenshots of the form (and, on a failure, the page and every process's log) are kept in
`.artifacts/connection-form/`."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from browser import chromium_context
from deployment import Deployment, deployed
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts" / "connection-form"

WORKSPACE_ID = "3f6f7a1e-2b1c-4d5e-9f00-1a2b3c4d5e6f"
CHANNEL_ID = "9c8b7a6f-5e4d-4c3b-8a29-180706f5e4d3"
ACCESS_KEY = "bird-access-key-from-the-form-0123456789"
BASE_URL = "https://api.bird.com"
REDIS_URL = "redis://redis.internal:6379/3"
REDIS_PASSWORD = "S3cretRedisPw/from-the-form"

EXTRA_FIELDS = {
    "workspace_id": "Workspace ID",
    "channel_id": "Default channel ID",
    "max_requests_per_second": "Max requests per second",
    "share_rate_limit_on_host": "Share the rate limit on this host",
    "rate_limit_redis_url": "Redis for the rate limit across hosts",
    "rate_limit_redis_password": "Redis password",
    "timeout": "Read timeout (seconds)",
    "max_retries": "Max retries",
    "retry_backoff": "Retry backoff (seconds)",
}


@pytest.fixture(scope="module")
def deployment(request, tmp_path_factory):
    """The API server (and the other processes) with the provider installed; no DAGs."""
    with deployed(
        tmp_path_factory.mktemp("no-dags"), {}, artifacts=ARTIFACTS, request=request
    ) as d:
        yield d


@pytest.fixture(scope="module")
def browser(deployment):
    with chromium_context(viewport={"width": 1280, "height": 1400}) as context:
        context.set_default_timeout(30_000)
        yield context


@pytest.fixture
def page(request, deployment, browser):
    """A page on the connection list, logged in as SimpleAuthManager's all-admins user;
    on a failure its screenshot is kept."""
    page = browser.new_page()
    base = f"http://127.0.0.1:{deployment.api_port}"
    page.goto(f"{base}/auth/token/login?next={base}/connections")
    page.get_by_role("button", name="Add Connection").wait_for()
    failed = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"failed-{request.node.name}.png", full_page=True)
        page.close()


def open_bird_form(page, connection_id: str):
    """Add Connection, with the id typed and type Bird chosen; the dialog."""
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Connection ID").fill(connection_id)
    dialog.get_by_role("combobox").fill("Bird")
    page.get_by_role("option", name="Bird", exact=True).click()
    dialog.get_by_label("Access key").wait_for()
    return dialog


def show_extra_fields(dialog) -> None:
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    dialog.locator("input[name='element_workspace_id']").wait_for()


def extra_input(dialog, name: str):
    return dialog.locator(f"input[name='element_{name}']")


def extra_field(dialog, name: str):
    """The labelled group around an extra field's input (Airflow's form does not tie those
    labels to their inputs with `for`, so a label lookup cannot find them)."""
    return dialog.get_by_role("group").filter(
        has=dialog.page.locator(f"input[name='element_{name}']")
    )


def label_of(field) -> str:
    return " ".join(field.locator("label").first.inner_text().split())


def api_get(deployment: Deployment, path: str) -> dict:
    """GET on the public REST API with a token from SimpleAuthManager's all-admins login."""
    base = f"http://127.0.0.1:{deployment.api_port}"
    with urllib.request.urlopen(f"{base}/auth/token", timeout=10) as answer:
        token = json.load(answer)["access_token"]
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_the_form_shows_the_bird_fields_and_hides_the_unused_ones(page):
    dialog = open_bird_form(page, "bird_fields")
    assert dialog.get_by_label("API base URL").get_attribute("placeholder") == BASE_URL
    assert dialog.get_by_label("Access key").get_attribute("type") == "password"
    assert dialog.get_by_label("Description").is_visible()
    for hidden in ("port", "login", "schema"):
        assert dialog.locator(f"[name='{hidden}']").count() == 0, f"{hidden} is shown"
    for label in ("Port", "Login", "Schema"):
        assert dialog.get_by_text(label, exact=True).count() == 0, f"{label} is shown"

    show_extra_fields(dialog)
    for name, label in EXTRA_FIELDS.items():
        field = extra_field(dialog, name)
        assert field.is_visible(), name
        required = name == "workspace_id"
        assert label_of(field) == (f"{label} *" if required else label)
        assert (extra_input(dialog, name).get_attribute("required") is not None) is required
    assert extra_input(dialog, "share_rate_limit_on_host").is_checked()
    assert extra_input(dialog, "rate_limit_redis_password").get_attribute("type") == "password"


def test_save_stays_disabled_while_the_workspace_id_is_empty(page):
    dialog = open_bird_form(page, "bird_no_workspace")
    save = dialog.get_by_role("button", name="Save")
    dialog.get_by_label("API base URL").fill(BASE_URL)
    dialog.get_by_label("Access key").fill(ACCESS_KEY)
    show_extra_fields(dialog)
    extra_input(dialog, "channel_id").fill(CHANNEL_ID)
    extra_input(dialog, "max_retries").fill("3")
    expect(extra_field(dialog, "workspace_id")).to_contain_text("This field is required")
    expect(save).to_be_disabled()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "bird-form-without-workspace.png", full_page=True)

    workspace = extra_input(dialog, "workspace_id")
    workspace.fill(WORKSPACE_ID)
    expect(save).to_be_enabled()
    workspace.fill("")
    expect(save).to_be_disabled()


def test_a_filled_form_is_saved_and_read_back_through_the_rest_api(page, deployment):
    dialog = open_bird_form(page, "bird_from_ui")
    dialog.get_by_label("Description").fill("Bird, added in the connection form")
    dialog.get_by_label("API base URL").fill(BASE_URL)
    dialog.get_by_label("Access key").fill(ACCESS_KEY)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "bird-form-filled-standard-fields.png", full_page=True)
    show_extra_fields(dialog)  # the form shows one section at a time
    extra_input(dialog, "workspace_id").fill(WORKSPACE_ID)
    extra_input(dialog, "channel_id").fill(CHANNEL_ID)
    extra_input(dialog, "max_retries").fill("3")
    extra_input(dialog, "rate_limit_redis_url").fill(REDIS_URL)
    extra_input(dialog, "rate_limit_redis_password").fill(REDIS_PASSWORD)
    save = dialog.get_by_role("button", name="Save")
    expect(save).to_be_enabled()
    page.screenshot(path=ARTIFACTS / "bird-form-filled.png", full_page=True)

    with page.expect_response(
        lambda r: r.url.endswith("/api/v2/connections") and r.request.method == "POST"
    ) as posted:
        save.click()
    assert posted.value.status == 201, posted.value.text()
    dialog.wait_for(state="hidden")
    page.get_by_role("row").filter(has_text="bird_from_ui").wait_for()

    saved = api_get(deployment, "/api/v2/connections/bird_from_ui")
    assert saved["conn_type"] == "bird"
    assert saved["host"] == BASE_URL
    assert saved["description"] == "Bird, added in the connection form"
    assert saved["port"] is None and saved["login"] is None and saved["schema"] is None
    assert saved["password"] != ACCESS_KEY and ACCESS_KEY not in json.dumps(saved)
    extra = json.loads(saved["extra"])
    assert extra["workspace_id"] == WORKSPACE_ID
    assert extra["channel_id"] == CHANNEL_ID
    assert extra["max_retries"] == 3
    assert extra["share_rate_limit_on_host"] is True
    assert all(extra.get(name) is None for name in ("timeout", "retry_backoff"))
    # The store's address is shown, its password masked like the key.
    assert extra["rate_limit_redis_url"] == REDIS_URL
    assert extra["rate_limit_redis_password"] == "***"
    assert "S3cretRedisPw" not in json.dumps(saved)

    # The key itself was stored, not its mask: Airflow's own CLI reads it back.
    got = deployment.airflow("connections", "get", "bird_from_ui", "-o", "json")
    [stored] = json.loads(got[got.index("[") :])
    assert stored["password"] == ACCESS_KEY
    assert stored["extra_dejson"]["rate_limit_redis_password"] == REDIS_PASSWORD
