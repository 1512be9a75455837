"""Gunicorn's own error answers in the API's error format (JSON) instead of its HTML page.

Gunicorn refuses some requests before Django sees them: a request line longer than its
`limit_request_line` (4,094 bytes) is a 414, headers over its limits a 431, a malformed request
line or header a 400. Every worker answers those through `gunicorn.util.write_error`;
gunicorn.conf.py replaces it with `write_json_error` (gunicorn 27; leadsite/tests/test_production.py
starts gunicorn and checks the answers). This module imports nothing of Django: it is loaded with
gunicorn's configuration, before the application.
"""

import json
import re
import uuid
from http import HTTPStatus

from gunicorn import util

# Codes of leadsite.errors.ERROR_CODES (a test holds them to it).
CODES = {414: "uri_too_long", 431: "headers_too_large", 500: "server_error"}
DEFAULT_CODE = "bad_request"


def message(status: int, gunicorn_message: str) -> str:
    if status == 414:
        sizes = re.findall(r"\d+", gunicorn_message)
        if len(sizes) == 2:
            return (
                f"The request line (method, path and query string) is {int(sizes[0]):,} bytes long; at most "
                f"{int(sizes[1]):,} are allowed. Shorten the URL: fewer or shorter query parameters."
            )
        return "The request line (method, path and query string) is too long. Shorten the URL."
    if status == 431:
        return "The request's headers are too many or too large."
    if status >= 500:
        return "An unexpected error; nothing was changed."
    return f"The request is malformed: {gunicorn_message}" if gunicorn_message else "The request is malformed."


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn.util.write_error's signature, answering {"error", "details": [{"message", "code"}]}."""
    body = json.dumps(
        {
            "error": HTTPStatus(status_int).phrase,
            "details": [{"message": message(status_int, mesg), "code": CODES.get(status_int, DEFAULT_CODE)}],
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {uuid.uuid4().hex}\r\n"
        "\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install():
    util.write_error = write_json_error
