from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class OrganizationJWTScheme(SimpleJWTScheme):
    """Documents our JWT authentication as the bearer scheme simplejwt's is."""

    target_class = "organizations.authentication.OrganizationJWTAuthentication"
    name = "jwtAuth"
