from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from leadsite.api import ErrorSerializer
from leadsite.throttling import LoginAccountThrottle, LoginIPThrottle
from organizations.permissions import IsOrganizationMember

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
class LoginView(BearerChallengeMixin, TokenObtainPairView):
    """Exchange email and password for an access and a refresh token."""

    throttle_classes = [LoginIPThrottle, LoginAccountThrottle]


@extend_schema(responses={200: TokenPairSerializer, **AUTH_ERRORS})
class RefreshView(BearerChallengeMixin, TokenRefreshView):
    """Exchange a refresh token for a new access token and a new refresh token (rotation)."""

    throttle_classes = [LoginIPThrottle]


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


class LogoutView(APIView):
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
