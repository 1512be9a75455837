"""What the apps above events plug into it at start-up (in their AppConfig.ready), so that events imports none of them.

- register_payload(kind, build): how an object of that kind ("lead", "customer") looks in an
  event's data; the app that owns the object builds it from its own serializer.
- register_on_recorded(callback): `callback(events)` is called by record_events with the events
  it has just written, inside the transaction of the change (webhooks enqueue their deliveries).
"""

from collections.abc import Callable, Iterable

_payloads: dict[str, Callable] = {}
_on_recorded: list[Callable] = []


def register_payload(kind: str, build: Callable[[object], dict]) -> None:
    _payloads[kind] = build


def payload(kind: str, obj) -> dict:
    """`obj` as the app that registered `kind` shows it in an event's data."""
    try:
        build = _payloads[kind]
    except KeyError:
        raise LookupError(f"No event payload for '{kind}': its app registers one in AppConfig.ready().") from None
    return build(obj)


def register_on_recorded(callback: Callable[[list], None]) -> None:
    if callback not in _on_recorded:
        _on_recorded.append(callback)


def recorded(events: Iterable) -> None:
    """Tell the subscribers of events just written; the caller holds the change's transaction."""
    for callback in _on_recorded:
        callback(events)
