"""Browser tests: the app served by werkzeug in a background thread on 127.0.0.1:<free port>, a judge with
three assigned entries, and Playwright driving Debian's Chromium (no `playwright install` needed) with the
"iPad (gen 7)" device profile.

The database is the suite's per-test database: a migrated SQLite copy, or PostgreSQL when
TEST_DATABASE_URL is set. The browser, not this process, writes the scores; this process only sets up,
locks a round and reads the results (closing its session at once: outside a request SQLite opens it
with BEGIN IMMEDIATE, which would hold the write lock the server needs).
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


def find_chromium() -> str | None:
    """CHROMIUM_PATH, else Debian's chromium."""
    wanted = os.environ.get("CHROMIUM_PATH")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    for path in (*CHROMIUM_CANDIDATES, shutil.which("chromium"), shutil.which("chromium-browser")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def where_chromium_was_looked_for() -> str:
    return os.environ.get("CHROMIUM_PATH") or ", ".join(CHROMIUM_CANDIDATES)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)
        tablet = dict(playwright.devices["iPad (gen 7)"])
        tablet.pop("default_browser_type", None)
        chromium.tablet_profile = tablet
        yield chromium
        chromium.close()


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import WSGIRequestHandler, make_server

        live = self

        class Handler(WSGIRequestHandler):
            def log_request(self, *args, **kwargs):
                pass

            def run_wsgi(self):
                if live.unplugged:  # the cable is out: no answer, the connection just drops
                    live.dropped.append((self.command, self.path))
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                super().run_wsgi()

        self.requests: list[tuple[str, str]] = []  # (method, path) of every request that reached the app
        self.dropped: list[tuple[str, str]] = []   # requests that got through the browser while "offline"
        self.unplugged = False
        self.app = app

        def counting(environ, start_response):
            self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, counting, threaded=True, request_handler=Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(10)


def go_offline(context, server) -> None:
    """The hall's Wi-Fi drops: Playwright's offline emulation, and the server unplugged behind it.

    Chromium's emulation is not airtight: about one run in five, a POST from a document the service
    worker had just served reached the server while "offline". Unplugging makes the scenario certain;
    server.dropped lists what leaked through the emulation."""
    context.set_offline(True)
    server.unplugged = True


def go_online(context, server) -> None:
    server.unplugged = False
    context.set_offline(False)


@pytest.fixture
def live_server(make_app):
    # Real CSRF checks (the tablet sends X-CSRFToken); no SERVER_NAME, so 127.0.0.1:<port> is served.
    app = make_app(WTF_CSRF_ENABLED=True, SERVER_NAME=None)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def tablet_context(browser, request):
    """A fresh browser profile (own IndexedDB, caches, service workers) with the tablet's profile;
    @pytest.mark.viewport(width, height) overrides the profile's portrait 810x1080."""
    options = dict(browser.tablet_profile)
    marker = request.node.get_closest_marker("viewport")
    if marker:
        options["viewport"] = {"width": marker.args[0], "height": marker.args[1]}
    context = browser.new_context(service_workers="allow", locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **options)
    context.set_default_timeout(15000)
    yield context
    context.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "viewport(width, height): the browser viewport of a tablet test")
