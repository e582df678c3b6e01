"""The dashboard: the static files of the `ui` package, served under /api/ui/ by the app
itself (same origin as the API, so the same auth). Any path that names no file and has no
extension is a page of the dashboard (/api/ui/deployments/<id>): it gets index.html, whose
script routes by the path, so every page has a shareable URL.

The files hold no data, so they are anonymous (a browser cannot send a function key when it
navigates); everything they show comes from the API with the caller's credentials. Every
answer carries a strict Content-Security-Policy: scripts and styles from this origin only,
no inline ones, and no framing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from urllib.parse import unquote, urlsplit

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()

ROUTE = "ui/{*path}"
MOUNT = "/api/ui/"  # where ROUTE is served (host.json's routePrefix "api"); index.html's <base>
INDEX = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Revalidate every time: a changed file is seen at once, an unchanged one costs a 304.
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every servable file of the `ui` package by its path under the mount, read once."""
    found: dict[str, Asset] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                walk(entry, name + "/")
                continue
            suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
            content_type = CONTENT_TYPES.get(suffix)
            if content_type is None:  # __init__.py and the like are not part of the site
                continue
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            found[name] = Asset(body, content_type, etag)

    walk(resources.files("ui"), "")
    return found


def asset_for(path: str) -> Asset | None:
    """The file at `path` (under the mount); index.html for a page; None for neither."""
    files = assets()
    if path in files:
        return files[path]
    last = path.rsplit("/", 1)[-1]
    if "." in last or ".." in path.split("/"):
        return None
    return files[INDEX]


def _path(req: func.HttpRequest) -> str:
    path = unquote(urlsplit(req.url).path)
    return path[len(MOUNT) :] if path.startswith(MOUNT) else ""


def _answer(
    status: int, body: bytes, content_type: str, headers: dict[str, str]
) -> func.HttpResponse:
    return func.HttpResponse(
        body,
        status_code=status,
        headers={"Content-Type": content_type, **SECURITY_HEADERS, **headers},
    )


@bp.route(route=ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def dashboard(req: func.HttpRequest) -> func.HttpResponse:
    """A file of the dashboard, or its index.html for one of its pages."""
    asset = asset_for(_path(req))
    if asset is None:
        return _answer(
            404, b"not found\n", "text/plain; charset=utf-8", {"Cache-Control": CACHE_CONTROL}
        )
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": asset.etag}
    if req.headers.get("if-none-match") == asset.etag:
        return _answer(304, b"", asset.content_type, headers)
    return _answer(200, asset.body, asset.content_type, headers)
