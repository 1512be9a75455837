"""What an event says: its body (the same for GET /events and webhooks) and the objects in its `data`."""

from datetime import UTC

from customers.serializers import CustomerSerializer
from leads.serializers import LeadSerializer


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


_lead_serializer = LeadSerializer()
_customer_serializer = CustomerSerializer()


def lead_payload(lead) -> dict:
    """A lead as `GET /leads/{id}` shows it (reads foreign keys by their id: no query)."""
    return _lead_serializer.to_representation(lead)


def customer_payload(customer) -> dict:
    """A customer as the convert response shows it (without leadIds, which would cost a query)."""
    return _customer_serializer.to_representation(customer)
