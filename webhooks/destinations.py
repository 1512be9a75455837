"""Where a webhook may send: the guard against server-side request forgery.

In production (`WEBHOOK_ALLOW_PRIVATE_URLS` off) a URL must be https and every address its host resolves
to must be globally routable: not loopback, private, link-local (169.254.169.254, the cloud metadata
service), carrier-grade NAT, multicast, reserved or unspecified, nor an IPv4 address wrapped in IPv6.
The check runs when a webhook is saved and again before every attempt, and the attempt connects to the
address that was checked, so a DNS answer that changes in between cannot redirect it.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import idna
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
    url: str  # as stored (parse_url)


class InvalidURL(DestinationRefused):
    """Not a well-formed webhook URL (as opposed to a well-formed one the guard refuses)."""


MAX_URL_LENGTH = 2000
MAX_HOST_LENGTH = 253  # DNS: 255 octets on the wire, 253 characters written
MAX_LABEL_LENGTH = 63


@dataclass(frozen=True)
class WebhookURL:
    """A parsed webhook URL: its parts as the attempt uses them, and `url`, the form it is stored in."""

    scheme: str  # lower case
    host: str  # ASCII: punycode for an internationalized name, no brackets around an IPv6 address
    port: int  # the explicit port, else the scheme's
    path: str  # with the query string
    url: str


def parse_url(url: str) -> WebhookURL:
    """The one definition of a valid webhook URL, for the API, the admin and every attempt.

    http(s) with a host that is an IP address (IPv6 in brackets) or a valid domain name
    (internationalized names become punycode), a port of 1-65535, no user name or password,
    no spaces or control characters. The scheme and host are written in lower case, non-ASCII
    characters of the path and query percent-encoded. InvalidURL (or DestinationRefused for a scheme
    the settings do not allow) says what is wrong.
    """
    if any(ord(character) <= 0x20 or ord(character) == 0x7F for character in url):
        raise InvalidURL("The URL may not contain spaces or control characters; percent-encode them (%20).")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # a bracketed host that is not an IPv6 address
        raise InvalidURL(f"Not a valid URL: {str(exc)[0].lower()}{str(exc)[1:]}.") from None
    allowed = ("https",) if not settings.WEBHOOK_ALLOW_PRIVATE_URLS else ("https", "http")
    if "://" not in url or parts.scheme not in allowed:
        raise DestinationRefused(f"The URL must start with {' or '.join(f'{s}://' for s in allowed)}.")
    authority = parts.netloc.rpartition("@")[2]
    if not authority or authority.startswith(":"):
        raise InvalidURL("The URL has no host.")
    if "@" in parts.netloc:
        raise DestinationRefused("The URL may not contain a user name or password.")
    host, written_host = _host(authority)
    port = _port(parts)
    path = _ascii(parts.path) + (f"?{_ascii(parts.query)}" if parts.query else "")
    fragment = f"#{_ascii(parts.fragment)}" if parts.fragment else ""
    normalized = f"{parts.scheme}://{written_host}{f':{port}' if port else ''}{path}{fragment}"
    if len(normalized) > MAX_URL_LENGTH:
        raise InvalidURL(
            f"The URL is {len(normalized)} characters long (its host in punycode); "
            f"at most {MAX_URL_LENGTH} are allowed."
        )
    default_port = 443 if parts.scheme == "https" else 80
    return WebhookURL(
        scheme=parts.scheme,
        host=host,
        port=port or default_port,
        path=path if path.startswith("/") else f"/{path}",
        url=normalized,
    )


def _port(parts) -> int | None:
    try:
        port = parts.port
    except ValueError:
        written = parts.netloc.rpartition("]")[2].rpartition(":")[2]
        if written.isascii() and written.isdigit():
            raise InvalidURL(f"The port {written} is out of range; use 1-65535.") from None
        raise InvalidURL(f"The port {written!r} is not a number; use 1-65535.") from None
    if port == 0:
        raise InvalidURL("The port 0 is out of range; use 1-65535.")
    return port


def _host(authority: str) -> tuple[str, str]:
    """The host as an address or ASCII name, and as it is written in the URL."""
    if authority.startswith("["):
        literal = authority[1:].partition("]")[0]
        if "%" in literal:
            raise InvalidURL(f"The IPv6 address {literal} has a zone index (%), which a webhook URL may not have.")
        try:
            address = ipaddress.IPv6Address(literal)
        except ValueError:
            raise InvalidURL(f"[{literal}] is not a valid IPv6 address.") from None
        return str(address), f"[{address}]"
    name = authority.rpartition(":")[0] if ":" in authority else authority
    labels = name.rstrip(".").split(".") if name not in ("", ".") else [""]
    # As URL parsers do (WHATWG's "ends in a number"): a host whose last label is numeric is an IPv4
    # address, written as four decimal numbers, or nothing (127.1 or 0x7f.1 are not host names).
    if _is_numeric(labels[-1]):
        try:
            return str(ipaddress.IPv4Address(name)), name
        except ValueError:
            raise InvalidURL(
                f"The host {name} is not a valid IPv4 address (four numbers of 0-255, such as 203.0.113.7)."
            ) from None
    return _domain_name(name)


def _is_numeric(label: str) -> bool:
    label = label.lower()
    if label.startswith("0x"):
        return label.isascii() and all(character in "0123456789abcdef" for character in label[2:])
    return label.isascii() and label.isdigit()


def _domain_name(name: str) -> tuple[str, str]:
    shown = name if len(name) <= 80 else f"{name[:40]}...{name[-20:]}"
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        reason = str(exc)
        if reason == "Domain too long":
            reason = f"it is longer than {MAX_HOST_LENGTH} characters"
        elif reason == "Label too long":
            reason = f"a label (between dots) is longer than {MAX_LABEL_LENGTH} characters"
        elif reason == "Empty Label":
            reason = "it has an empty label (a leading dot, or two dots in a row)"
        elif codepoint := re.match(r"Codepoint U\+([0-9A-F]+)", reason):
            character = chr(int(codepoint.group(1), 16))
            reason = f"{character!r} (U+{codepoint.group(1)}) may not be in a host name (letters, digits, hyphens)"
        else:
            reason = reason.replace("Label ", "a label ", 1) if reason.startswith("Label ") else reason
        raise InvalidURL(f"The host name {shown} is not valid: {reason}.") from None
    return ascii_name.rstrip("."), ascii_name


def _ascii(text: str) -> str:
    """Percent-encode what is not ASCII (UTF-8), as browsers do; the rest is sent as written."""
    return "".join(character if character.isascii() else quote(character) for character in text)


def clean_url(url: str) -> str:
    """Validate a URL being saved (API or admin): the form it is stored in, or DestinationRefused.

    A host that does not resolve yet is allowed: its attempts fail until it does, each checked again.
    """
    try:
        return resolve(url).url
    except HostDoesNotResolve:
        return parse_url(url).url


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour or ip.teredo):
        return False
    return ip.is_global and not ip.is_multicast


def resolve(url: str) -> Destination:
    """Check the URL and resolve its host: the address to connect to, or DestinationRefused."""
    parsed = parse_url(url)
    try:
        infos = socket.getaddrinfo(parsed.host, parsed.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise HostDoesNotResolve(f"The host {parsed.host} does not resolve.") from None
    addresses = [info[4][0] for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        refused = [address for address in addresses if not is_public(address)]
        if refused:
            raise DestinationRefused(
                f"The host {parsed.host} resolves to {refused[0]}, a loopback, private, link-local "
                "or otherwise non-public address."
            )
    return Destination(
        scheme=parsed.scheme, host=parsed.host, port=parsed.port, path=parsed.path, address=addresses[0], url=parsed.url
    )
