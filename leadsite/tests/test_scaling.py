"""Keeps docs/scaling.md true: every index and unique key of an organization's rows leads with the organization.

The few that do not are listed here with their reason; a new one fails this test until it is
either led by the organization or added here and to docs/scaling.md.
"""

import pytest
from django.apps import apps
from django.db import connection

from organizations.scoping import OrganizationScopedQuerySet

# (table, columns) -> why it does not lead with organization_id. An empty or None column is an expression.
NOT_LED_BY_ORGANIZATION = {
    ("organizations_organization", ("slug",)): "slug is unique across organizations (it names one in commands)",
    ("organizations_user", ("email",)): "email is unique across organizations: users log in by email alone",
    ("organizations_user", (None,)): "the same, case-insensitive: UNIQUE (lower(email))",
    ("organizations_user", ()): "the same, case-insensitive: UNIQUE (lower(email)) as SQLite reports it",
    ("leads_lead", ()): "the trigram GIN index for `q` search (PostgreSQL only); shard-local on Citus",
    ("idempotency_idempotencykey", ("created_at",)): "the purge of expired keys runs across organizations",
}


def organization_scoped_models():
    return [
        model for model in apps.get_models() if isinstance(model._default_manager.all(), OrganizationScopedQuerySet)
    ]


def organization_column(model):
    """organization_id, or id for Organization itself (its queryset scopes by primary key)."""
    lookup = model._default_manager.all().organization_lookup
    return model._meta.pk.column if lookup == "pk" else model._meta.get_field(lookup).column


def keys_of(model):
    """(name, columns, is_primary_key) of every unique constraint and index of the model's table."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        (name, tuple(info["columns"]), info["primary_key"])
        for name, info in constraints.items()
        if info["unique"] or info["index"] or info["primary_key"]
    ]


@pytest.mark.django_db
def test_the_organization_scoped_models_are_the_documented_ones():
    tables = {model._meta.db_table for model in organization_scoped_models()}
    assert tables == {
        "organizations_organization",
        "organizations_user",
        "leads_lead",
        "leads_leadhistory",
        "leads_leadimport",
        "leads_leadtally",
        "leads_leadweektally",
        "customers_customer",
        "idempotency_idempotencykey",
        "events_event",
        "webhooks_webhook",
        "webhooks_delivery",
        "routing_assignmentrule",
        "routing_rulemember",
        "jobs_job",
        "scoring_scoringmodel",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("model", organization_scoped_models(), ids=lambda model: model._meta.label)
def test_every_index_and_unique_key_leads_with_the_organization(model):
    table, leading = model._meta.db_table, organization_column(model)
    foreign_key_columns = {field.column for field in model._meta.concrete_fields if field.is_relation}
    unexplained = []
    for name, columns, primary_key in keys_of(model):
        if primary_key:
            assert columns == ("id",), name  # becomes (organization_id, id) on Citus: docs/scaling.md
        elif columns[:1] == (leading,):
            pass
        elif len(columns) == 1 and columns[0] in foreign_key_columns:
            pass  # Django's own index of a foreign key, for joins and cascades
        elif (table, columns) not in NOT_LED_BY_ORGANIZATION:
            unexplained.append((name, columns))
    assert unexplained == []
