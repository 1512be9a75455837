import django_filters

from customers.models import Customer
from leadsite.filters import ChoiceListFilter, TextSearchFilter


class CustomerFilter(django_filters.FilterSet):
    status = ChoiceListFilter(
        values=Customer.Status.values,
        noun="status",
        help_text="One status or several, comma-separated: active, inactive, churned.",
    )
    q = TextSearchFilter(
        fields=["company_name", "contact_email", "customer_number"],
        help_text="Search in companyName, contactEmail and customerId.",
    )

    class Meta:
        model = Customer
        fields = []
