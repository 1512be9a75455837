"""The one place where a request's path and query values are checked, for every API view.

`CheckedParametersMixin` (a base of every API view) refuses, before the handler runs:
- a path or query value (or a query parameter's name) holding NUL or an unpaired surrogate: 400
  `unstorable_text` (PostgreSQL refuses NUL; nothing can encode a lone surrogate);
- a query parameter the endpoint does not document: 400 `unknown_parameter`, naming it and the
  accepted ones (`?stauts=new` would otherwise quietly list every lead).

The accepted parameters are what the OpenAPI schema documents for the operation, worked out the same
way: on a list (a GET that paginates), the paginator's (page, limit and, where sorted by keyset,
cursor), SortBackend's (sortField, sortOrder) and the filterset's; plus what a view declares in
`extra_query_params` per action ({"create": ("allowDuplicate",)}) for the parameters its
extend_schema documents. leadsite/tests/test_parameters.py holds every operation to its schema.
"""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from leadsite import messages
from leadsite.parsers import shown_path
from leadsite.text import UNSTORABLE_MESSAGE, is_unstorable_text


def refuse_unstorable_values(values, noun):
    """values: (name, value) pairs; a 400 naming the first whose name or value cannot be stored."""
    for name, value in values:
        if is_unstorable_text(name) or (isinstance(value, str) and is_unstorable_text(value)):
            raise ValidationError({shown_path(name): [f"The {noun} {UNSTORABLE_MESSAGE}"]}, code="unstorable_text")


def parse_positive_int(params, name, default, maximum=None):
    """Read a positive integer query parameter, or raise a 400 that names it."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({name: [messages.WHOLE_NUMBER]}) from None
    if value < 1 or (maximum is not None and value > maximum):
        raise ValidationError({name: [messages.in_range(1, maximum)]}, code="out_of_range")
    return value


class CheckedParametersMixin:
    # {action (a viewset's) or method (an APIView's, "get"): query parameters its schema documents}
    extra_query_params = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            return  # a 405 follows
        refuse_unstorable_values(kwargs.items(), "path value")
        query = list(request.query_params.lists())
        refuse_unstorable_values(((name, value) for name, values in query for value in values), "query value")
        accepted = self.accepted_query_params()
        unknown = [name for name, _ in query if name not in accepted]
        if unknown:
            allowed = ", ".join(sorted(accepted)) if accepted else "none"
            raise ValidationError(
                {name: [f"Unknown query parameter '{name}'; this endpoint accepts: {allowed}."] for name in unknown},
                code="unknown_parameter",
            )

    def accepted_query_params(self):
        action = getattr(self, "action", None) or self.request.method.lower()
        accepted = set(self.extra_query_params.get(action, ()))
        if self.lists():
            accepted |= {parameter["name"] for parameter in self.paginator.get_schema_operation_parameters(self)}
            for backend in getattr(self, "filter_backends", ()):
                if issubclass(backend, DjangoFilterBackend):
                    filterset_class = getattr(self, "filterset_class", None)
                    accepted |= set(filterset_class.base_filters) if filterset_class else set()
                elif hasattr(backend, "get_schema_operation_parameters"):
                    accepted |= {parameter["name"] for parameter in backend().get_schema_operation_parameters(self)}
        return accepted

    def lists(self):
        """Whether this request is for a paginated list (as the schema's list operations)."""
        return (
            self.request.method in ("GET", "HEAD")
            and getattr(self, "action", None) != "retrieve"
            and getattr(self, "paginator", None) is not None
        )


def query_flag(request, name) -> bool:
    """A true/false query parameter, false when absent; anything else is a 400."""
    raw = request.query_params.get(name, "").strip().lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise ValidationError({name: [messages.BOOLEAN]})
