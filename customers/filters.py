import django_filters
from django import forms
from django.db.models import Q

from customers.models import Customer


class StatusListField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        statuses = [part.strip() for part in (value or "").split(",") if part.strip()]
        unknown = [s for s in statuses if s not in Customer.Status.values]
        if unknown:
            raise forms.ValidationError(
                f"Unknown status {', '.join(repr(s) for s in unknown)}. Use: {', '.join(Customer.Status.values)}."
            )
        return statuses


class StatusListFilter(django_filters.Filter):
    field_class = StatusListField

    def filter(self, qs, value):
        return qs.filter(status__in=value) if value else qs


class CustomerFilter(django_filters.FilterSet):
    status = StatusListFilter(help_text="One status or several, comma-separated: active, inactive, churned.")
    q = django_filters.CharFilter(method="search", help_text="Search in companyName, contactEmail and customerId.")

    class Meta:
        model = Customer
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(company_name__icontains=value) | Q(contact_email__icontains=value) | Q(customer_number__icontains=value)
        )
