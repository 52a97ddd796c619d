"""Console test fixtures: a signed-in requests session and a headless Chromium (Playwright).

The browser is Debian's chromium (``make browser-deps`` installs it); Playwright
drives it through ``executable_path``. ``playwright install`` is never used: it
downloads a browser build, which this project's machines cannot do.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.testing.server import EmulatorServer

BASE = "/_emulator/console"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]*)"', html)
    assert match, "page has no csrf-token meta"
    return match.group(1)


def sign_in(server: EmulatorServer, access_key: str | None = None, secret: str | None = None) -> requests.Session:
    session = requests.Session()
    page = session.get(server.endpoint + BASE + "/signin")
    assert page.status_code == 200
    resp = session.post(
        server.endpoint + BASE + "/signin",
        data={"_csrf": csrf_of(page.text), "access_key_id": access_key or server.access_key, "secret_access_key": secret or server.secret_key, "next": "/"},
    )
    assert resp.status_code == 200, resp.text[:500]
    assert resp.url.endswith(BASE + "/"), resp.url
    return session


def sign_in_new_user(server: EmulatorServer, prefix: str) -> tuple[requests.Session, str, dict[str, Any]]:
    """A new IAM user with no policy, its access key, and a console session signed in with it
    (retried briefly: a new key may take a moment to reach the key store)."""
    iam = server.client("iam")
    user = f"{prefix}-{int(time.time() * 1000)}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    for _ in range(20):
        try:
            return sign_in(server, key["AccessKeyId"], key["SecretAccessKey"]), user, key
        except AssertionError:
            time.sleep(0.1)
    raise AssertionError(f"the console did not accept the new key of {user}")


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """The console tests' own server (overrides the plugin's shared one for this folder), so
    that resources other areas' tests leave behind (policies, tiny ledgers, instances) and the
    tables, users and alarms these tests create never meet."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def console_url(emulator: EmulatorServer) -> str:
    return emulator.endpoint + BASE


@pytest.fixture(scope="session")
def health(emulator: EmulatorServer) -> Callable[[], dict[str, Any]]:
    def get() -> dict[str, Any]:
        data: dict[str, Any] = requests.get(emulator.endpoint + "/_emulator/health", timeout=10).json()
        return data

    return get


@pytest.fixture
def need_service(health: Callable[[], dict[str, Any]]) -> Callable[[str], None]:
    """Skip ONLY when /_emulator/health shows the service missing (the test runs once it lands)."""

    def check(service: str) -> None:
        info = health().get("services", {}).get(service)
        if info is None:
            pytest.skip(f"/_emulator/health shows no native {service} service yet")

    return check


@pytest.fixture
def web(emulator: EmulatorServer) -> requests.Session:
    return sign_in(emulator)


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this
# thread while it is open, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed: run `make browser-deps`")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any, emulator: EmulatorServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (own cookies), signed in through the sign-in form."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(emulator.endpoint + BASE + "/")
    pg.fill("input[name=access_key_id]", emulator.access_key)
    pg.fill("input[name=secret_access_key]", emulator.secret_key)
    pg.click("#signin-form button[type=submit]")
    pg.wait_for_url(re.compile(re.escape(BASE) + r"/$"))
    try:
        yield pg
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # A screenshot is a debugging aid, never the failure.
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
        context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def shot() -> Callable[[Any, str], None]:
    """Save a full-page screenshot under tests/artifacts/console/NAME.png."""

    def take(pg: Any, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take
