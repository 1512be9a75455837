"""A webhook receiver on 127.0.0.1 for the tests, the benchmark and trying webhooks out by hand.

It records every request (path, headers, body, arrival time) and answers as told per path:
`Receiver(port, answers={"/flaky": [500, 500, 200], "/slow": Answer(delay=30)})`. A list is
answered in turn (its last entry repeats); a path without an entry gets 200.
"""

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering
    body: bytes = b'{"ok": true}'
    headers: tuple = ()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.time() when the body was read


class Receiver:
    def __init__(self, port: int, answers: dict | None = None, host: str = "127.0.0.1"):
        self.requests: list[Received] = []
        self.answers = answers or {}
        self._served: dict[str, int] = {}
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float, path: str | None = None) -> list[Received]:
        """The requests (to `path`, if given) once there are `count` of them, or those there are at the timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received(path)) < count and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return self.received(path)

    def received(self, path: str | None = None) -> list[Received]:
        return [request for request in self.requests if path is None or request.path == path]

    def _answer(self, path: str) -> Answer:
        planned = self.answers.get(path, Answer())
        with self._changed:
            served = self._served.get(path, 0)
            self._served[path] = served + 1
        if isinstance(planned, list):
            planned = planned[min(served, len(planned) - 1)]
        return Answer(status=planned) if isinstance(planned, int) else planned

    def _record(self, request: Received) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._record(Received(self.path, dict(self.headers.items()), body, time.time()))
                answer = receiver._answer(self.path)
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args):
                pass

        return Handler
