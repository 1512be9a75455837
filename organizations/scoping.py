"""The one way to scope a query to an organization.

Every model that belongs to an organization uses `OrganizationScopedQuerySet`, and every
viewset, admin class and selector reaches its rows through `for_organization`. Viewsets get it
through `OrganizationScopedViewSetMixin`, which refuses subclasses that override
`get_queryset` (so the filter cannot be forgotten); they customise `get_base_queryset` instead.
"""

from django.db import models


class OrganizationScopedQuerySet(models.QuerySet):
    # The lookup from the model to its organization; "organization" for every model so far.
    organization_lookup = "organization"

    def for_organization(self, organization):
        if organization is None:
            return self.none()
        return self.filter(**{self.organization_lookup: organization})


class OrganizationScopedViewSetMixin:
    """Gives a viewset `self.organization` and filters its queryset by it.

    An object of another organization is simply not in the queryset, so it is a 404.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset; override get_base_queryset instead "
                "so that organization scoping always applies."
            )

    @property
    def organization(self):
        return self.request.user.organization

    def get_base_queryset(self):
        return self.queryset.all()

    def get_queryset(self):
        return self.get_base_queryset().for_organization(self.organization)
