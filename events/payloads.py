"""What an event says: its body, the same for GET /events and webhooks.

The objects in its `data` are built by the apps they belong to (see events.hooks.register_payload).
"""

from datetime import UTC


def timestamp(value) -> str:
    """As the API prints times: UTC, milliseconds, Z."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_body(event) -> dict:
    """{id, type, createdAt, organizationId, actor: {id, via}, data}."""
    return {
        "id": str(event.id),
        "type": event.type,
        "createdAt": timestamp(event.created_at),
        "organizationId": str(event.organization_id),
        "actor": {"id": str(event.actor_id) if event.actor_id else None, "via": event.actor_via},
        "data": event.data,
    }
