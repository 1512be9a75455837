from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"

    def ready(self):
        from customers.events import customer_payload
        from events.hooks import register_payload

        register_payload("customer", customer_payload)
