"""PUT as the spec has it: an update of the fields sent."""


class PartialPutMixin:
    """PUT updates only the fields sent, as PATCH does: the spec's own PUT example sends five fields."""

    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)
