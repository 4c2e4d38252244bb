"""GraphiQL works on a machine without internet.

Headless Chromium (Debian's) opens the real server's /graphql with the network
limited to loopback, twice over: Playwright routing refuses every request that
is not for the server, and Chromium's proxy is a local sink that refuses (and
records) whatever routing did not see, with no host name resolving at all.
Either net catching an attempt fails the test, and so does any console error,
which is where the page's Content-Security-Policy reports a refused URL.
"""

from __future__ import annotations

import json
import os
import socketserver
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from service.api import graphiql
from tests.fakes import Server, gql

CHROMIUM = Path("/usr/bin/chromium")
SEED_CLAIMS = json.loads(
    (Path(__file__).resolve().parents[2] / "seeds" / "claims.json").read_text()
)["claims"]
EDITOR = ".graphiql-query-editor .CodeMirror"
RESULT = ".result-window .CodeMirror"
NOTHING: dict[str, list[str]] = {"routing": [], "proxy": []}


def cannot_run(reason: str) -> None:
    """Skip on a developer's machine, fail in CI: CI installs both."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class _Refuse(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("latin-1").strip()
        assert isinstance(self.server, Sink)
        self.server.seen.append(line)
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


class Sink(socketserver.ThreadingTCPServer):
    """Chromium's proxy for everything but loopback: records each request
    line (CONNECT host:443, GET http://...) and refuses it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Refuse)
        self.seen: list[str] = []

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@dataclass
class Watch:
    """What one browser context tried beyond the server, and what it complained of."""

    server_url: str
    sink: Sink
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sink.seen.clear()

    def guard(self, route: Route) -> None:
        if route.request.url.startswith(self.server_url + "/"):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def follow(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("websocket", lambda ws: self.refused.append(ws.url))
        return page

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def outside(self) -> dict[str, list[str]]:
        return {"routing": self.refused, "proxy": self.sink.seen}


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    proxy = Sink()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        cannot_run(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--autofill-server-url=http://127.0.0.1:9/",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def watch(server: Server, sink: Sink) -> Watch:
    return Watch(server.url, sink)


@pytest.fixture
def context(browser: Browser, watch: Watch) -> Iterator[BrowserContext]:
    ctx = new_context(browser, watch.sink)
    ctx.set_default_timeout(60_000)  # a busy machine parses 3.5 MB of script slowly
    ctx.route("**/*", watch.guard)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A --dev server on SQLite with the seeds; the store plays no part here."""
    if graphiql.missing_files():
        cannot_run(f"GraphiQL's files are not installed: {graphiql.install_command()}")
    db = tmp_path_factory.mktemp("graphiql") / "claims.sqlite"
    running = Server(db=db, env={"CLAIMS_DEV": "1"}).start()
    yield running
    running.stop()


def new_context(browser: Browser, sink: Sink) -> BrowserContext:
    """Pages whose traffic goes to the sink unless it is for loopback. (The
    browser's own background traffic stays out of it: no name resolves.)"""
    return browser.new_context(proxy={"server": sink.address, "bypass": "127.0.0.1"})


def server_log(server: Server) -> str:
    return server.db.with_name(f"{server.db.name}.{server.port}.log").read_text()


def editor_text(page: Page, selector: str) -> str:
    """What a CodeMirror editor of the page holds."""
    text: str = page.evaluate(
        "s => document.querySelector(s)?.CodeMirror.getValue() ?? ''", selector
    )
    return text


def result_of(page: Page) -> Any:
    page.wait_for_function(
        "s => document.querySelector(s)?.CodeMirror.getValue()", arg=RESULT
    )
    return json.loads(editor_text(page, RESULT))


def test_graphiql_renders_and_runs_a_query_over_loopback_only(
    server: Server, context: BrowserContext, watch: Watch
) -> None:
    page = watch.follow(context.new_page())
    page.goto(f"{server.url}/graphql?q={quote('{ claims { totalCount } }')}")
    assert watch.outside() == NOTHING  # strawberry's own page fails here: its CDN
    page.wait_for_selector(EDITOR)

    page.click(".graphiql-execute-button")

    assert result_of(page)["data"] == {"claims": {"totalCount": len(SEED_CLAIMS)}}
    assert watch.outside() == NOTHING
    assert watch.errors == []
    assert "not installed" not in server_log(server)


def test_the_query_typed_in_the_editor_is_the_one_that_runs(
    server: Server, context: BrowserContext, watch: Watch
) -> None:
    page = watch.follow(context.new_page())
    page.goto(f"{server.url}/graphql")
    page.wait_for_selector(EDITOR)
    first_key = SEED_CLAIMS[0]["key"]

    page.click(EDITOR)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # CodeMirror closes brackets as they are typed; type only the openings.
    page.keyboard.type("query { claims(first: 1) { edges { node { key")
    page.keyboard.press("Escape")  # the list of completions, if one is open
    typed = editor_text(page, EDITOR)
    page.keyboard.press("Control+Enter")

    assert " ".join(typed.replace("}", " } ").split()) == (
        "query { claims(first: 1) { edges { node { key } } } }"
    )
    assert result_of(page)["data"] == {
        "claims": {"edges": [{"node": {"key": first_key}}]}
    }
    assert watch.outside() == NOTHING
    assert watch.errors == []


def test_both_nets_catch_a_page_that_reaches_outside(
    browser: Browser, context: BrowserContext, watch: Watch
) -> None:
    """The guard above can fail: a page that loads a CDN script, as
    strawberry's does, is caught by routing, and without routing by the proxy."""
    page = watch.follow(context.new_page())
    page.set_content('<script src="https://cdn.example.invalid/react.js"></script>')
    assert watch.refused == ["https://cdn.example.invalid/react.js"]

    unrouted = new_context(browser, watch.sink)
    try:
        unrouted.new_page().set_content(
            '<script src="https://cdn.example.invalid/react.js"></script>'
        )
    finally:
        unrouted.close()
    assert any("cdn.example.invalid:443" in line for line in watch.sink.seen)


class ServerWithoutAssets(Server):
    """The real server, with npm's files looked for in an empty folder: a
    fresh clone where `npm ci` has not run."""

    def command(self) -> list[str]:
        empty = self.db.parent / "no-node-modules"
        empty.mkdir(exist_ok=True)
        start = (
            "import sys, pathlib, service.api.graphiql as g; "
            "g.VENDOR_DIR = pathlib.Path(sys.argv[1]); "
            "from service.cli import main; sys.exit(main(sys.argv[2:]))"
        )
        return [sys.executable, "-c", start, str(empty), *self.serve_arguments()]

    def serve_arguments(self) -> list[str]:
        return [*super().serve_arguments(), "--dev"]


def test_without_npm_files_start_and_page_say_what_to_run(
    browser: Browser, sink: Sink, tmp_path: Path
) -> None:
    server = ServerWithoutAssets(db=tmp_path / "claims.sqlite").start()
    try:
        watch = Watch(server.url, sink)
        context = new_context(browser, sink)
        context.route("**/*", watch.guard)
        page = context.new_page()
        response = page.goto(f"{server.url}/graphql")
        text = page.inner_text("body")
        context.close()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answer = gql(client, "{ claims { totalCount } }")
    finally:
        server.stop()

    assert response is not None
    assert response.status == 503
    assert "GraphiQL's files are not installed" in text
    assert "node_modules/graphiql/graphiql.min.js" in text
    assert graphiql.install_command() in text
    log = server_log(server)
    assert "GraphiQL's files are not installed" in log
    assert graphiql.install_command() in log
    assert answer["data"] == {"claims": {"totalCount": len(SEED_CLAIMS)}}
    assert watch.outside() == NOTHING


def test_the_readme_serve_command_installs_what_the_page_loads() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (serve,) = [line for line in readme.splitlines() if "serve --dev" in line]
    (install,) = [step.split() for step in serve.split(" && ") if "npm" in step]
    assert install[:3] == ["npm", "ci", "--prefix"]
    assert Path(__file__).resolve().parents[2] / install[3] == graphiql.IDE_DIR
    assert (graphiql.IDE_DIR / "package-lock.json").is_file()


def refusal(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["errors"][0]["extensions"]["code"]


def test_without_dev_there_is_no_page_and_no_files(tmp_path: Path) -> None:
    server = Server(db=tmp_path / "claims.sqlite", env={"CLAIMS_DEV": "0"}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            page = client.get("/graphql", headers={"accept": "text/html"})
            script = client.get("/graphiql/graphiql.js")
    finally:
        server.stop()
    assert refusal(page) == (404, "NOT_FOUND")
    assert refusal(script) == (404, "NOT_FOUND")
