"""A small HTTP server on 127.0.0.1 with a known service time, for self-tests of the load generator.

Why it exists: the load-test command must be tested end to end without
touching any other machine. This server binds loopback only, on a free port,
answers every GET with a fixed body after ``service_seconds`` of sleep (so
throughput grows with concurrency like an I/O-bound service), counts the
requests per path, and stops when the ``with`` block ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class LoopbackServer:
    """Handle on a running loopback server: its URL base and the requests it saw."""

    base_url: str
    hits: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def total(self) -> int:
        with self.lock:
            return sum(self.hits.values())


@contextmanager
def serve_loopback(
    *, service_seconds: float = 0.0, status_for: dict[str, int] | None = None, max_requests: int = 1_000_000
) -> Iterator[LoopbackServer]:
    """Run a threading HTTP/1.1 (keep-alive) server on 127.0.0.1 for the duration of the block.

    ``status_for`` maps paths to response codes (default 200). After
    ``max_requests`` requests every answer is 503, a bound on a runaway client.
    """
    statuses = dict(status_for or {})
    state: dict[str, LoopbackServer] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body are separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # http.server's method naming
            server = state["server"]
            with server.lock:
                server.hits[self.path] += 1
                seen = sum(server.hits.values())
            if service_seconds > 0:
                time.sleep(service_seconds)
            code = 503 if seen > max_requests else statuses.get(self.path, 200)
            body = b"ok\n" if code < 400 else b"unavailable\n"
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # silence per-request logging
            return

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            # a load generator closing its connections at the deadline is normal, not an error to print
            return

    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    state["server"] = LoopbackServer(base_url=f"http://{host}:{port}")
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state["server"]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
