import django_filters

from leads.models import Lead, LeadStatus, search_text
from leadsite.filters import (
    ChoiceListFilter,
    IntegerFilter,
    StrictBooleanFilter,
    TextSearchFilter,
    UTCDateTimeFilter,
)


class LeadFilter(django_filters.FilterSet):
    status = ChoiceListFilter(
        values=LeadStatus.values, noun="status", help_text="One status or several, comma-separated."
    )
    source = django_filters.CharFilter(field_name="source")
    assignedTo = django_filters.UUIDFilter(field_name="assigned_to_id")
    isActive = StrictBooleanFilter(field_name="is_active")
    scoreMin = IntegerFilter(field_name="score", lookup_expr="gte")
    scoreMax = IntegerFilter(field_name="score", lookup_expr="lte")
    predictedScoreMin = IntegerFilter(
        field_name="predicted_score", lookup_expr="gte", help_text="Leads whose predictedScore is at least this."
    )
    predictedScoreMax = IntegerFilter(
        field_name="predicted_score", lookup_expr="lte", help_text="Leads whose predictedScore is at most this."
    )
    createdAfter = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")
    lastContactedBefore = UTCDateTimeFilter(field_name="last_contacted_at", lookup_expr="lt")
    q = TextSearchFilter(
        fields=["name", "email", "company"], expression=search_text, help_text="Search in name, email and company."
    )

    class Meta:
        model = Lead
        fields = []
