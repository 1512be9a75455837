from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from customers.views import CustomerViewSet
from events.views import EventViewSet
from jobs.views import JobViewSet
from leads.import_api import LeadImportViewSet
from leads.views import LeadViewSet
from leadsite.errors import not_found_view
from leadsite.health import HealthView, ReadyView
from leadsite.index import index_view
from organizations.views import (
    LoginView,
    LogoutAllView,
    LogoutView,
    MeView,
    PasswordChangeView,
    RefreshView,
    UserViewSet,
)
from routing.views import AssignmentRuleViewSet, DefaultAssigneeView, LeadRoutingViewSet
from scoring.views import LeadPredictionViewSet, ScoringModelView, ScoringTrainView
from webhooks.views import DeliveryViewSet, WebhookViewSet


class OptionalSlashRouter(SimpleRouter):
    """The spec's paths have no trailing slash; accept both forms without redirecting."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
# Before "leads": /leads/route must not read "route" as a lead id.
router.register("leads", LeadRoutingViewSet, basename="lead-routing")
router.register("leads", LeadPredictionViewSet, basename="lead-prediction")
router.register("leads", LeadViewSet, basename="lead")
router.register("assignment-rules", AssignmentRuleViewSet, basename="assignment-rule")
router.register("customers", CustomerViewSet, basename="customer")
router.register("users", UserViewSet, basename="user")
router.register("events", EventViewSet, basename="event")
router.register("jobs", JobViewSet, basename="job")
router.register("imports", LeadImportViewSet, basename="import")
# Before "webhooks": /webhooks/deliveries/{id}/retry must not read "deliveries" as a webhook id.
router.register("webhooks/deliveries", DeliveryViewSet, basename="webhook-delivery")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    re_path(r"^auth/token/?$", LoginView.as_view(), name="token"),
    re_path(r"^auth/token/refresh/?$", RefreshView.as_view(), name="token-refresh"),
    re_path(r"^auth/logout/?$", LogoutView.as_view(), name="logout"),
    re_path(r"^auth/logout-all/?$", LogoutAllView.as_view(), name="logout-all"),
    re_path(r"^auth/password/?$", PasswordChangeView.as_view(), name="password-change"),
    re_path(r"^me/?$", MeView.as_view(), name="me"),
    re_path(r"^assignment-rules/default/?$", DefaultAssigneeView.as_view(), name="assignment-rules-default"),
    re_path(r"^scoring/model/?$", ScoringModelView.as_view(), name="scoring-model"),
    re_path(r"^scoring/model/train/?$", ScoringTrainView.as_view(), name="scoring-model-train"),
    re_path(r"^healthz/?$", HealthView.as_view(), name="healthz"),
    re_path(r"^readyz/?$", ReadyView.as_view(), name="readyz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    re_path(r"^$", index_view, name="index"),
    path("", include(router.urls)),
    # Anything else is a JSON 404, also with DEBUG on (where handler404 is not used).
    re_path(r"^", not_found_view),
]

handler400 = "leadsite.errors.bad_request_view"
handler404 = "leadsite.errors.not_found_view"
handler500 = "leadsite.errors.server_error_view"
