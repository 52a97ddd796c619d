"""The web console, mounted at ``/_emulator/console/``.

``routes(runtime)`` is called once by ``Runtime.__init__``; the console then
talks to services only through ``runtime.app.invoke`` (see ``core``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from emulator.handlers.base import Route

if TYPE_CHECKING:
    from emulator.runtime import Runtime

log = logging.getLogger("emulator.console")


def routes(runtime: Runtime) -> list[Route]:
    try:
        from emulator.console.core import Console
        from emulator.console.html import BASE

        console = Console(runtime)
    except Exception:
        # A broken console must never take the AWS endpoints down with it.
        log.exception("the web console failed to load; serving without it")
        return []
    # methods=None: the console answers 405 itself rather than letting AWS detection guess.
    route = Route(BASE, console, None)
    if hasattr(route, "summary"):
        route.summary = "Web console (HTML pages; sign in with an access key id and secret)"
    # /_emulator/openapi.json describes the console's entry points only: the rest are HTML
    # pages and forms behind a signed-in session and a CSRF token, not an API.
    html_page = {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    route.openapi = {
        BASE + "/": {"get": {
            "summary": "The web console (redirects to the sign-in page without a session)", "operationId": "getConsole", "security": [],
            "responses": {"200": html_page, "303": {"description": "Sign in first: redirect to the sign-in page"}},
        }},
        BASE + "/signin": {"get": {
            "summary": "The console's sign-in page (access key id and secret)", "operationId": "getConsoleSignin", "security": [],
            "responses": {"200": html_page},
        }},
    }
    return [route]
