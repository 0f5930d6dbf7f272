"""Tiny static server for the chat widget and the demo patient-forum page.

    python -m widget.serve [--host 127.0.0.1] [--port 8080] [--rasa-url http://localhost:5005]

URL layout:
    /, /thread.html, /forum.css      demo forum pages (widget/demo/)
    /widget/chat-widget.js, .css     the widget (widget/src/)
    /widget/i18n/en.json             its UI labels (widget/src/i18n/)
    /widget/vendor/socket.io.esm.min.js   pinned socket.io client (widget/node_modules/, from
                                     `npm ci` in widget/, run by `make widget-deps`)

In demo pages the placeholder ``__RASA_URL__`` becomes ``--rasa-url`` (env ``WIDGET_RASA_URL``).
The demo pages are sent with a strict Content-Security-Policy, as a forum could use.
Standard library only (http.server), so it runs in the project venv or any Python 3.
"""

from __future__ import annotations

import argparse
import logging
import os
import posixpath
import re
import sys
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

WIDGET_DIR = Path(__file__).resolve().parent
SOCKET_IO_DIST = WIDGET_DIR / "node_modules" / "socket.io-client" / "dist"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
RASA_URL_PLACEHOLDER = "__RASA_URL__"
# The widget's translations files (UI labels): widget/src/i18n/<lang>.json.
LABELS = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?\.json")


def resolve(url_path: str) -> Path | None:
    """Maps a request path to a file under widget/, or ``None`` (never outside it)."""
    path = posixpath.normpath(urlsplit(url_path).path)
    if path in ("/", "/index.html"):
        return WIDGET_DIR / "demo" / "index.html"
    parts = [p for p in path.split("/") if p]
    if not parts or any(p.startswith(".") for p in parts):
        return None
    if parts[:2] == ["widget", "vendor"] and len(parts) == 3:
        base = SOCKET_IO_DIST
        name = parts[2]
        if not name.startswith("socket.io.esm.min.js"):
            return None
        return base / name
    if parts[:2] == ["widget", "i18n"] and len(parts) == 3:
        return (
            WIDGET_DIR / "src" / "i18n" / parts[2]
            if LABELS.fullmatch(parts[2])
            else None
        )
    if parts[0] == "widget" and len(parts) == 2:
        return WIDGET_DIR / "src" / parts[1]
    if len(parts) == 1:
        return WIDGET_DIR / "demo" / parts[0]
    return None


def websocket_origin(http_url: str) -> str:
    """``http://host:port`` -> ``ws://host:port`` (for the demo page's CSP)."""
    parts = urlsplit(http_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


class WidgetHandler(BaseHTTPRequestHandler):
    """Serves the files :func:`resolve` allows, GET and HEAD only."""

    server_version = "widget-serve"
    rasa_url = "http://localhost:5005"

    def __init__(self, *args, rasa_url: str, **kwargs) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:  # noqa: N802 (stdlib naming)
        self._serve(send_body=False)

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._serve(send_body=True)

    def _serve(self, send_body: bool) -> None:
        if urlsplit(self.path).path == "/favicon.ico":
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
            return
        path = resolve(self.path)
        if path is None or not path.is_file():
            if path is not None and SOCKET_IO_DIST in path.parents:
                self._plain(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    "socket.io client missing: run `make widget-deps` (npm ci in widget/).",
                    send_body,
                )
            else:
                self._plain(HTTPStatus.NOT_FOUND, "Not found", send_body)
            return
        body = path.read_bytes()
        is_page = path.suffix == ".html"
        if is_page:
            body = body.replace(RASA_URL_PLACEHOLDER.encode(), self.rasa_url.encode())
        self.send_response(HTTPStatus.OK)
        self.send_header(
            "Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        )
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if is_page:
            self.send_header(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                f"connect-src 'self' {self.rasa_url} {websocket_origin(self.rasa_url)}; "
                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
            )
        else:
            # The widget is embedded on other sites and loads its client with import(),
            # which fetches in CORS mode: public static files, so any origin may read them.
            self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _plain(self, status: HTTPStatus, text: str, send_body: bool) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def make_server(host: str, port: int, rasa_url: str) -> ThreadingHTTPServer:
    """Creates (binds) the server; call ``serve_forever()`` on it."""
    handler = partial(WidgetHandler, rasa_url=rasa_url)
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("WIDGET_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("WIDGET_PORT", "8080"))
    )
    parser.add_argument(
        "--rasa-url",
        default=os.environ.get("WIDGET_RASA_URL", "http://localhost:5005"),
        help="where the browser reaches Rasa's socket.io channel",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (SOCKET_IO_DIST / "socket.io.esm.min.js").is_file():
        logger.warning("socket.io client not installed: run `make widget-deps` first.")
    server = make_server(args.host, args.port, args.rasa_url)
    # only picks the host name to print; binding is args.host
    printable = ("127.0.0.1", "0.0.0.0", "")  # noqa: S104
    shown_host = "localhost" if args.host in printable else args.host
    logger.info(
        "Demo patient forum with the chat widget: http://%s:%d/ (bot at %s)",
        shown_host,
        server.server_address[1],
        args.rasa_url,
    )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
