from webhooks.models import Webhook


def webhook_deliveries(*, webhook: Webhook):
    """Newest first; the body stays in the database (the list does not show it)."""
    return webhook.delivery_rows().defer("body").order_by("-created_at", "-id")
