"""One HTTP attempt of a delivery: signed per Standard Webhooks, to the checked address, within the timeout."""

import http.client
import secrets
import socket
import ssl
import threading
import time
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from standardwebhooks.webhooks import Webhook as Signer

from webhooks.destinations import Destination, DestinationRefused, resolve

SECRET_PREFIX = "whsec_"
RESPONSE_KEPT_BYTES = 1024
USER_AGENT = "LeadsAPI-Webhooks/1.0"


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + b64encode(secrets.token_bytes(32)).decode()


def signed_headers(*, secret: str, message_id: str, body: str, now: datetime | None = None) -> dict:
    timestamp = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, timestamp, body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


@dataclass
class Outcome:
    status_code: int | None = None
    response_body: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def send(*, url: str, secret: str, message_id: str, body: str) -> Outcome:
    """POST the body once; never raises. Redirects are not followed: a 3xx is a failure like any non-2xx."""
    started = time.monotonic()
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        destination = resolve(url)
    except DestinationRefused as exc:
        return Outcome(error=str(exc))
    headers = signed_headers(secret=secret, message_id=message_id, body=body)
    try:
        outcome = _post(destination, headers, body.encode(), timeout)
    except Exception as exc:  # noqa: BLE001 - any network failure is a failed attempt, recorded with its reason
        outcome = Outcome(error=_describe(exc, time.monotonic() - started >= timeout))
    outcome.duration_ms = round((time.monotonic() - started) * 1000)
    if outcome.status_code is not None and not outcome.succeeded and not outcome.error:
        outcome.error = f"The endpoint answered {outcome.status_code}."
    return outcome


def _post(destination: Destination, headers: dict, body: bytes, timeout: float) -> Outcome:
    if destination.scheme == "https":
        connection = http.client.HTTPSConnection(
            destination.host, destination.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(destination.host, destination.port, timeout=timeout)
    # Connect to the address that was checked; TLS still verifies the certificate against the host name.
    connection._create_connection = lambda _address, connect_timeout, source=None: socket.create_connection(
        (destination.address, destination.port), connect_timeout, source
    )
    # The timeout above bounds each read; this bounds the whole attempt (a server may trickle bytes).
    deadline = threading.Timer(timeout, _abort, [connection])
    deadline.start()
    try:
        connection.request("POST", destination.path, body=body, headers=headers)
        response = connection.getresponse()
        kept = response.read(RESPONSE_KEPT_BYTES)
        return Outcome(status_code=response.status, response_body=kept.decode("utf-8", errors="replace"))
    finally:
        deadline.cancel()
        connection.close()


def _abort(connection):
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _describe(exc: Exception, timed_out: bool) -> str:
    if timed_out or isinstance(exc, TimeoutError):
        return f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s."
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused."
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}."
    return f"{type(exc).__name__}: {exc}"[:500]
