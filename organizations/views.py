from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from leadsite.errors import ErrorSerializer
from leadsite.filters import FilterWhenAskedBackend
from leadsite.pagination import PageLimitPagination
from leadsite.parameters import CheckedParametersMixin
from leadsite.schema import error_responses
from leadsite.sorting import SortBackend
from leadsite.throttling import (
    CountFailedAttemptsMixin,
    LoginAccountIPThrottle,
    LoginAccountThrottle,
    LoginIPThrottle,
    UserCreateFailuresThrottle,
    UserRateThrottle,
)
from organizations import services
from organizations.authentication import token_refused
from organizations.filters import UserFilter
from organizations.models import User
from organizations.permissions import IsOrganizationAdmin, IsOrganizationMember
from organizations.scoping import OrganizationScopedViewSetMixin
from organizations.serializers import (
    LoginSerializer,
    MeSerializer,
    MeUpdateSerializer,
    PasswordChangeSerializer,
    RefreshSerializer,
    UserCreateSerializer,
    UserSerializer,
)
from organizations.tokens import refresh_token_for

AUTH_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(ErrorSerializer, description="Invalid credentials or token"),
}


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class BearerChallengeMixin:
    """Token views authenticate nobody, yet their failures are 401 with a Bearer challenge."""

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


@extend_schema(responses={200: TokenPairSerializer, **AUTH_ERRORS})
class LoginView(CheckedParametersMixin, CountFailedAttemptsMixin, BearerChallengeMixin, TokenObtainPairView):
    """Exchange email and password for an access and a refresh token."""

    serializer_class = LoginSerializer
    throttle_classes = [LoginIPThrottle, LoginAccountIPThrottle, LoginAccountThrottle]


@extend_schema(responses={200: TokenPairSerializer, **AUTH_ERRORS})
class RefreshView(CheckedParametersMixin, CountFailedAttemptsMixin, BearerChallengeMixin, TokenRefreshView):
    """Exchange a refresh token for a new access token and a new refresh token (rotation).

    The new refresh token expires when the one it replaces would have: REFRESH_TOKEN_DAYS after the login.
    """

    serializer_class = RefreshSerializer
    throttle_classes = [LoginIPThrottle]

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise token_refused(exc) from None
        return Response(serializer.validated_data)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()

    def validate_refresh(self, value):
        try:
            token = RefreshToken(value)
        except TokenError as exc:
            raise serializers.ValidationError(str(exc)) from None
        if str(token.get("user_id")) != str(self.context["request"].user.pk):
            raise serializers.ValidationError("This refresh token belongs to another user.")
        return token


class LogoutView(CheckedParametersMixin, APIView):
    """Revoke a refresh token: it can no longer be used to obtain access tokens."""

    # Every member may log out, read-only ones included.
    permission_classes = [IsOrganizationMember]

    @extend_schema(request=LogoutSerializer, responses={204: None, **AUTH_ERRORS})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            serializer.validated_data["refresh"].blacklist()
        except TokenError as exc:
            raise serializers.ValidationError({"refresh": [str(exc)]}) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(CheckedParametersMixin, APIView):
    """Log out everywhere: every access and refresh token issued to me so far stops working."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(request=None, responses={204: None, 401: AUTH_ERRORS[401]})
    def post(self, request):
        services.user_revoke_tokens(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(CheckedParametersMixin, CountFailedAttemptsMixin, APIView):
    """Change my password. Every session, this one included, ends; the answer is a new token pair.

    A wrong current password counts as a failed login for the throttles.
    """

    permission_classes = [IsOrganizationMember]
    throttle_classes = [UserRateThrottle, LoginIPThrottle, LoginAccountIPThrottle, LoginAccountThrottle]

    @extend_schema(request=PasswordChangeSerializer, responses={200: TokenPairSerializer, **AUTH_ERRORS})
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = services.user_change_password(user=request.user, password=serializer.validated_data["newPassword"])
        refresh = refresh_token_for(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


_errors = error_responses(
    {
        400: "Invalid input",
        403: "Only an organization admin may do this",
        409: "It would leave the organization without an active admin",
    }
)


class MeView(CheckedParametersMixin, APIView):
    """The authenticated user and their organization."""

    # Every member may set their own name and availability, read-only members included.
    permission_classes = [IsOrganizationMember]

    @extend_schema(responses={200: MeSerializer, **_errors(401)})
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        request=MeUpdateSerializer,
        responses={200: MeSerializer, **_errors(400, 401)},
        description="Change my name or availability (away, optionally until a date: routing skips me until then).",
    )
    def patch(self, request):
        serializer = MeUpdateSerializer(request.user, data=request.data, partial=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, data=serializer.validated_data)
        return Response(MeSerializer(user).data)


@extend_schema_view(
    list=extend_schema(responses={200: UserSerializer(many=True), **_errors(400, 401)}),
    retrieve=extend_schema(responses={200: UserSerializer, **_errors(401, 404)}),
    create=extend_schema(request=UserCreateSerializer, responses={201: UserSerializer, **_errors(400, 401, 403)}),
    partial_update=extend_schema(responses={200: UserSerializer, **_errors(400, 401, 403, 404, 409)}),
    destroy=extend_schema(
        responses={204: None, **_errors(401, 403, 404, 409)},
        description="Deactivates the user: their lead history and assignments keep them as author.",
    ),
)
class UserViewSet(
    CheckedParametersMixin,
    CountFailedAttemptsMixin,
    OrganizationScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The members of my organization; any member reads them, only admins change them."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    pagination_class = PageLimitPagination
    filter_backends = [FilterWhenAskedBackend, SortBackend]
    filterset_class = UserFilter
    sort_fields = {"name": "name", "email": "email", "role": "role", "createdAt": "date_joined"}
    default_sort_field, default_sort_order = "name", "asc"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    throttle_classes = [UserRateThrottle, UserCreateFailuresThrottle]

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return super().get_permissions()
        return [IsOrganizationAdmin()]

    def get_serializer_class(self):
        return UserCreateSerializer if self.action == "create" else UserSerializer

    def perform_create(self, serializer):
        serializer.instance = services.user_create(organization=self.organization, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.user_update(user=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.user_deactivate(user=instance)
