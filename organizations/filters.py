import django_filters
from django.db.models import Q

from leads.filters import StrictBooleanFilter
from organizations.models import User


class UserFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=User.Role.choices)
    isActive = StrictBooleanFilter(field_name="is_active")
    q = django_filters.CharFilter(method="search", help_text="Search in name and email.")

    class Meta:
        model = User
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))
