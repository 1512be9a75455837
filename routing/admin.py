"""Assignment rules in the admin, in the order they are tried: move up and down, each member's
availability and load, and what routing did this week. Organization admins change them; other staff look."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join

from leads import selectors as lead_selectors
from organizations.models import User
from organizations.scoping import OrganizationScopedAdminMixin
from routing import services
from routing.models import AssignmentRule, RuleMember
from routing.serializers import ConditionsSerializer

RULE_PERMISSIONS = {"admin": {"view", "add", "change", "delete"}, "sales_rep": {"view"}, "read_only": {"view"}}


def _may(request, permission) -> bool:
    user = request.user
    if user.is_superuser:
        return True
    return user.is_active and user.is_staff and permission in RULE_PERMISSIONS.get(user.role, ())


class RuleForm(forms.ModelForm):
    class Meta:
        model = AssignmentRule
        fields = ["organization", "name", "is_active", "method", "conditions"]
        help_texts = {
            "conditions": 'As the API takes them, e.g. {"source": ["referral"], "customFields": {"region": ["EU"]}}; '
            "{} matches every lead."
        }

    def clean_conditions(self):
        conditions = self.cleaned_data["conditions"] or {}
        serializer = ConditionsSerializer(data=conditions, context={"request": True})
        if not serializer.is_valid():
            raise forms.ValidationError(
                [f"{field}: {' '.join(map(str, errors))}" for field, errors in serializer.errors.items()]
            )
        return serializer.validated_data


class RuleMemberInline(admin.TabularInline):
    model = RuleMember
    fields = ["user", "weight", "max_open", "max_per_day", "availability_and_load"]
    readonly_fields = ["availability_and_load"]
    extra = 1

    def has_view_permission(self, request, obj=None):
        return _may(request, "view")

    def has_add_permission(self, request, obj=None):
        return _may(request, "change")

    def has_change_permission(self, request, obj=None):
        return _may(request, "change")

    def has_delete_permission(self, request, obj=None):
        return _may(request, "change")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = User.objects.for_organization(request.user.organization_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Availability and load")
    def availability_and_load(self, member):
        if not member.pk:
            return ""
        user = member.user
        state = "deactivated" if not user.is_active else "away" if user.is_away else "available"
        if user.is_away and user.away_until:
            state += f" until {user.away_until:%Y-%m-%d}"
        open_leads = lead_selectors.open_lead_counts(organization=member.organization_id, user_ids=[user.pk])[user.pk]
        today = member.assigned_on_day if member.day == timezone.localdate() else 0
        return f"{state}; {open_leads} open; {today} from this rule today"


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    role_permissions = RULE_PERMISSIONS
    form = RuleForm
    inlines = [RuleMemberInline]
    list_display = ["position", "name", "is_active", "method", "pool", "move"]
    list_display_links = ["name"]
    ordering = ["position", "created_at"]
    readonly_fields = ["position"]
    change_list_template = "admin/routing/assignmentrule/change_list.html"

    @admin.display(description="Members")
    def pool(self, rule):
        return ", ".join(member.user.name or member.user.email for member in rule.members.all())

    @admin.display(description="Order")
    def move(self, rule):
        links = [
            (reverse("admin:routing_assignmentrule_move", args=[rule.pk, direction]), label)
            for direction, label in (("up", "▲ up"), ("down", "▼ down"))
        ]
        return format_html_join(
            " ",
            '<button type="submit" form="move-rule" formaction="{}" class="button">{}</button>',
            links,
        )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("members__user")

    def get_urls(self):
        move = self.admin_site.admin_view(self.move_view)
        return [
            path("<path:object_id>/move-<str:direction>/", move, name="routing_assignmentrule_move"),
            *super().get_urls(),
        ]

    def move_view(self, request, object_id, direction):
        rule = self.get_object(request, object_id)  # another organization's: 404
        changelist = reverse("admin:routing_assignmentrule_changelist")
        if request.method != "POST" or direction not in ("up", "down"):
            return HttpResponseRedirect(changelist)
        if not self.has_change_permission(request, rule):
            self.message_user(request, "Your role does not allow changing the rules.", messages.ERROR)
            return HttpResponseRedirect(changelist)
        services.rule_move(rule=rule, position=max(1, rule.position + (-1 if direction == "up" else 1)))
        self.log_change(request, rule, f"Moved {direction}")
        return HttpResponseRedirect(changelist)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        if not change:
            organization = obj.organization_id or request.user.organization_id
            obj.position = AssignmentRule.objects.for_organization(organization).count() + 1
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        members = formset.save(commit=False)
        for member in members:
            member.organization_id = form.instance.organization_id
            member.save()
        for member in formset.deleted_objects:
            member.delete()

    def delete_model(self, request, obj):
        services.rule_delete(rule=obj)

    def changelist_view(self, request, extra_context=None):
        organization = None if request.user.is_superuser else request.user.organization_id
        week = None
        if organization:
            week = lead_selectors.routed_this_week(organization=organization)
            ids = [user_id for user_id, _ in week["byUser"] if user_id]
            users = User.objects.for_organization(organization).filter(pk__in=ids) if ids else []
            week = lead_selectors.with_user_names(week, users)
        context = {"routed_week": week, "week_start": week and week["since"]}
        return super().changelist_view(request, {**(extra_context or {}), **context})
