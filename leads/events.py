"""How a lead looks in an event's data: as `GET /leads/{id}` shows it (registered with events.hooks at start-up)."""

from leads.serializers import LeadSerializer

_lead_serializer = LeadSerializer()


def lead_payload(lead) -> dict:
    """A lead as `GET /leads/{id}` shows it (reads foreign keys by their id: no query)."""
    return _lead_serializer.to_representation(lead)
