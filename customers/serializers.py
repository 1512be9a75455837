from rest_framework import serializers

from customers.models import Customer
from leadsite.fields import TimestampField
from leadsite.strict import StrictTypesMixin


class CustomerSerializer(StrictTypesMixin, serializers.ModelSerializer):
    organizationId = serializers.UUIDField(source="organization_id", read_only=True)
    companyName = serializers.CharField(source="company_name", max_length=255)
    customerId = serializers.CharField(source="customer_number", read_only=True)
    contactEmail = serializers.EmailField(source="contact_email", required=False, allow_null=True, allow_blank=True)
    contactPhone = serializers.CharField(
        source="contact_phone", max_length=50, required=False, allow_null=True, allow_blank=True
    )
    createdAt = TimestampField(source="created_at", read_only=True)
    updatedAt = TimestampField(source="updated_at", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "organizationId",
            "companyName",
            "customerId",
            "contactEmail",
            "contactPhone",
            "status",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = ["id"]


class CustomerWithLeadsSerializer(CustomerSerializer):
    """A customer as the customers API shows it: the convert response's fields plus the leads converted into it."""

    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    leadIds = serializers.PrimaryKeyRelatedField(source="leads", many=True, read_only=True)

    class Meta(CustomerSerializer.Meta):
        fields = [*CustomerSerializer.Meta.fields, "leadIds"]

    def validate(self, attrs):
        for field in ("contact_email", "contact_phone"):
            if attrs.get(field) == "":
                attrs[field] = None
        return attrs
