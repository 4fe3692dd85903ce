"""Static HTTP/1.1 file server on 127.0.0.1 that records every request.

Responses carry Content-Length and keep the connection alive (404s included),
file bodies are sent with sendfile(2) so the server is not the bottleneck.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Request:
    path: str
    status: int
    bytes_sent: int  # response body bytes


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self._requests: list[Request] = []
        self._in_flight = 0
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()

    def take_requests(self, timeout: float = 10.0) -> list[Request]:
        """Return and forget the requests recorded so far.

        Waits until no request is being answered, so that a response the
        client has already read is always fully accounted for.
        """
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError("server still answering requests")
            requests, self._requests = self._requests, []
        return requests

    def resolve(self, url_path: str) -> Path | None:
        relative = urllib.parse.unquote(url_path).lstrip("/")
        path = (self.root / relative).resolve()
        return path if path.is_relative_to(self.root) and path.is_file() else None

    def begin(self, request: Request) -> None:
        with self._idle:
            self._requests.append(request)
            self._in_flight += 1

    def end(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK would stall each response ~40 ms.
    disable_nagle_algorithm = True
    server: RecordingServer

    def do_GET(self) -> None:
        url_path = urllib.parse.urlsplit(self.path).path
        file = self.server.resolve(url_path)
        request = Request(url_path, 200 if file else 404, 0)
        self.server.begin(request)
        try:
            if file is None:
                self._send_headers(404, 0)
                return
            with open(file, "rb") as f:
                self._send_headers(200, os.fstat(f.fileno()).st_size)
                request.bytes_sent = self.connection.sendfile(f)
        except OSError:  # client went away
            self.close_connection = True
        finally:
            self.server.end()

    def _send_headers(self, status: int, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
        pass
