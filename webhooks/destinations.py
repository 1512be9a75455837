"""Where a webhook may send: the guard against server-side request forgery.

In production (`WEBHOOK_ALLOW_PRIVATE_URLS` off) a URL must be https and every address its host resolves
to must be globally routable: not loopback, private, link-local (169.254.169.254, the cloud metadata
service), carrier-grade NAT, multicast, reserved or unspecified, nor an IPv4 address wrapped in IPv6.
The check runs when a webhook is saved and again before every attempt, and the attempt connects to the
address that was checked, so a DNS answer that changes in between cannot redirect it.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class DestinationRefused(Exception):
    """The URL may not be sent to; the message says why, for the API and the delivery log."""


class HostDoesNotResolve(DestinationRefused):
    """No address yet: allowed on saving (DNS may come later), a failed attempt at delivery."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    path: str  # with the query string
    address: str  # the checked IP address to connect to


def check_url_form(url: str) -> None:
    """What can be said of a URL without resolving it."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise DestinationRefused("Not a valid URL.") from None
    allowed = {"https"} if not settings.WEBHOOK_ALLOW_PRIVATE_URLS else {"https", "http"}
    if parts.scheme not in allowed:
        raise DestinationRefused("The URL must start with https://.")
    if not parts.hostname:
        raise DestinationRefused("The URL has no host.")
    if parts.username or parts.password:
        raise DestinationRefused("The URL may not contain a user name or password.")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour or ip.teredo):
        return False
    return ip.is_global and not ip.is_multicast


def resolve(url: str) -> Destination:
    """Check the URL and resolve its host: the address to connect to, or DestinationRefused."""
    check_url_form(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise HostDoesNotResolve(f"The host {parts.hostname} does not resolve.") from None
    addresses = [info[4][0] for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        refused = [address for address in addresses if not is_public(address)]
        if refused:
            raise DestinationRefused(
                f"The host {parts.hostname} resolves to {refused[0]}, a loopback, private, link-local "
                "or otherwise non-public address."
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=parts.scheme, host=parts.hostname, port=port, path=path, address=addresses[0])
