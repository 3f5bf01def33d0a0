"""A small threaded HTTP server on 127.0.0.1: the demo site, and the site tests and benchmarks use.

Routes are either static documents (with ETag / Last-Modified and real
conditional-GET answers) or handler callables that get the raw request
handler for behaviours a static file cannot show (slow drips, resets).
Every request is recorded so tests can assert what the client sent.

    site = LocalSite()
    site.add("/feed.xml", rss_bytes, "application/rss+xml")
    with site:
        httpx.get(site.url("/feed.xml"))
    assert site.hits("/feed.xml") == 1
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

RawHandler = Callable[[BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class StaticRoute:
    body: bytes
    content_type: str
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int
    at: float


@dataclass
class LocalSite:
    """A loopback web site whose routes are set by the test."""

    host: str = "127.0.0.1"
    port: int = 0
    latency_s: float = 0.0
    routes: dict[str, StaticRoute | RawHandler] = field(default_factory=dict)
    seen: list[SeenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ routes
    def add(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        validators: bool = True,
    ) -> None:
        """Serve a fixed document; with `validators`, also ETag/Last-Modified and 304s."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"' if validators else None
        modified = email.utils.formatdate(1_760_000_000, usegmt=True) if validators else None
        self.routes[path] = StaticRoute(
            data, content_type, status, tuple((headers or {}).items()), etag, modified
        )

    def add_handler(self, path: str, handler: RawHandler) -> None:
        """Serve `path` with a callable that writes the whole response itself."""
        self.routes[path] = handler

    def remove(self, path: str) -> None:
        self.routes.pop(path, None)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                site._serve(self, head=False)

            def do_HEAD(self) -> None:  # noqa: N802
                site._serve(self, head=True)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalSite:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ queries
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def hits(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.seen if path is None or r.path == path)

    def requests_to(self, path: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.seen if r.path == path]

    def reset_log(self) -> None:
        with self._lock:
            self.seen.clear()

    # ------------------------------------------------------------------ serving
    def _record(self, req: BaseHTTPRequestHandler, status: int) -> None:
        with self._lock:
            self.seen.append(
                SeenRequest(req.command, req.path, dict(req.headers.items()), status, time.time())
            )

    def _serve(self, req: BaseHTTPRequestHandler, *, head: bool) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)
        route = self.routes.get(req.path) or self.routes.get(urlsplit(req.path).path)
        if route is None:
            self._record(req, 404)
            send_simple(req, 404, b"not found", "text/plain")
            return
        if not isinstance(route, StaticRoute):
            self._record(req, 0)
            route(req)
            return
        if route.status == 200 and _not_modified(req, route):
            self._record(req, 304)
            req.send_response(304)
            if route.etag:
                req.send_header("ETag", route.etag)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        self._record(req, route.status)
        req.send_response(route.status)
        req.send_header("Content-Type", route.content_type)
        req.send_header("Content-Length", str(len(route.body)))
        if route.etag:
            req.send_header("ETag", route.etag)
        if route.last_modified:
            req.send_header("Last-Modified", route.last_modified)
        for name, value in route.headers:
            req.send_header(name, value)
        req.end_headers()
        if not head:
            req.wfile.write(route.body)


def _not_modified(req: BaseHTTPRequestHandler, route: StaticRoute) -> bool:
    inm = req.headers.get("If-None-Match")
    if inm is not None:
        return route.etag is not None and route.etag in [t.strip() for t in inm.split(",")]
    ims = req.headers.get("If-Modified-Since")
    return ims is not None and route.last_modified is not None and ims == route.last_modified


def send_simple(
    req: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Write one complete response (helper for raw handlers)."""
    req.send_response(status)
    req.send_header("Content-Type", content_type)
    req.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        req.send_header(name, value)
    req.end_headers()
    if req.command != "HEAD":
        req.wfile.write(body)
