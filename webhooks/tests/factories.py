import factory

from organizations.tests.factories import OrganizationFactory
from webhooks.models import Webhook
from webhooks.sending import new_secret


class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webhook

    organization = factory.SubFactory(OrganizationFactory)
    url = "http://127.0.0.1:8160/hook"
    event_types = ["*"]
    secret = factory.LazyFunction(new_secret)
