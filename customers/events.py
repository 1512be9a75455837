"""How a customer looks in an event's data (registered with events.hooks at start-up)."""

from customers.serializers import CustomerSerializer

_customer_serializer = CustomerSerializer()


def customer_payload(customer) -> dict:
    """A customer as the convert response shows it (without leadIds, which would cost a query)."""
    return _customer_serializer.to_representation(customer)
