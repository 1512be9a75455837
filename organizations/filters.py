import django_filters

from leadsite.filters import StrictBooleanFilter, TextSearchFilter
from organizations.models import User


class UserFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=User.Role.choices)
    isActive = StrictBooleanFilter(field_name="is_active")
    q = TextSearchFilter(fields=["name", "email"], help_text="Search in name and email.")

    class Meta:
        model = User
        fields = []
