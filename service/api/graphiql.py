"""GraphiQL for --dev, from files on this machine.

Strawberry's own page loads React and GraphiQL from a CDN, so without internet
it stays a blank "Loading...". Ours is the same GraphiQL, built by npm from
graphiql_ide/package-lock.json (`npm ci`, the project's install step) and served
from here; the page references nothing but this service, and its
Content-Security-Policy forbids anything else. When the files are missing, the
start log and the page say so and give the command that installs them.
"""

from __future__ import annotations

import html
import logging
import shlex
from pathlib import Path
from string import Template

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from service.settings import Settings

IDE_DIR = Path(__file__).resolve().parent / "graphiql_ide"
# npm ci installs here; a module global so a test can point it elsewhere.
VENDOR_DIR = IDE_DIR / "node_modules"

# What /graphiql/<name> serves: our own files, and the built files from npm.
# Nothing else under node_modules is reachable.
OWN_FILES = {"page.js": "page.js", "page.css": "page.css"}
VENDOR_FILES = {
    "react.js": "react/umd/react.production.min.js",
    "react-dom.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.js": "graphiql/graphiql.min.js",
    "graphiql.css": "graphiql/graphiql.min.css",
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

log = logging.getLogger("claims_ledger")


def install_command() -> str:
    return f"npm ci --prefix {shlex.quote(str(IDE_DIR))}"


def missing_files() -> list[str]:
    """The npm-built files that are not installed, as paths under node_modules."""
    return [path for path in VENDOR_FILES.values() if not (VENDOR_DIR / path).is_file()]


def page(request: Request) -> Response:
    missing = missing_files()
    if not missing:
        return HTMLResponse(
            (IDE_DIR / "index.html").read_text(encoding="utf-8"),
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
        )
    text = Template((IDE_DIR / "missing.html").read_text(encoding="utf-8"))
    body = text.substitute(
        missing="".join(
            f"<li><code>node_modules/{html.escape(p)}</code></li>" for p in missing
        ),
        command=html.escape(install_command()),
        url=html.escape(str(request.url.replace(query=""))),
    )
    return HTMLResponse(
        body, status_code=503, headers={"Content-Security-Policy": "default-src 'none'"}
    )


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name in OWN_FILES:
        path = IDE_DIR / OWN_FILES[name]
    elif name in VENDOR_FILES:
        path = VENDOR_DIR / VENDOR_FILES[name]
    else:
        raise HTTPException(404, "Not Found")
    if not path.is_file():
        raise HTTPException(404, f"GraphiQL is not installed: run {install_command()}")
    return FileResponse(path)


class LocalGraphiQL:
    """Mixed into the strawberry view: where it would render its CDN page for
    a browser's GET /graphql, render ours."""

    async def render_graphql_ide(self, request: Request) -> Response:
        return page(request)


def routes(settings: Settings) -> list[BaseRoute]:
    """The files the page loads, served only with --dev; says on start when
    npm has not installed them."""
    if not settings.dev:
        return []
    missing = missing_files()
    if missing:
        log.warning(
            "GraphiQL's files are not installed (missing %s): run `%s`; "
            "until then /graphql answers queries but its page says this",
            ", ".join(f"node_modules/{p}" for p in missing),
            install_command(),
        )
    return [Route("/graphiql/{name}", asset, methods=["GET", "HEAD"])]
