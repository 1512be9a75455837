"""The lifecycle of a lead: the one place that says how its status may change.

- `converted` is reached only through the conversion service (POST /leads/{id}/convert-to-customer,
  the admin's convert action). Any other write asking for it is a 400 on `status`
  (code `use_convert_endpoint`); the importer reports it as that row's error.
- A converted lead keeps its status (and its customer link): changing it is a 409 (`lead_converted`)
  that says how to undo the conversion (POST /leads/{id}/unconvert, organization admins).
  Writing `converted` again to a converted lead is not a change and passes (a re-import of an
  export, a PUT of the whole object); its other fields stay editable.
- Undoing a conversion sets the lead back to `qualified` (UNCONVERTED_STATUS).

The database holds the same invariant: a CHECK constraint (`lead_converted_with_customer`) that
`status = 'converted'` exactly when `converted_customer_id` and `converted_at` are set.

The services call `check_status_change` against the row they have locked; the importer and the
admin's form call it against the lead they read, to report the row or the field.
"""

from rest_framework.exceptions import ErrorDetail, ValidationError

from leads.models import LeadStatus
from leadsite.errors import Conflict

# Where an unconverted lead goes back to: it was good enough to convert once.
UNCONVERTED_STATUS = LeadStatus.QUALIFIED
# What undoing a conversion writes (POST /leads/{id}/unconvert, deleting the customer).
UNCONVERTED_VALUES = {"status": UNCONVERTED_STATUS, "converted_at": None, "converted_customer": None}

USE_CONVERT_ENDPOINT = (
    "A lead becomes 'converted' only by converting it: use POST /leads/{id}/convert-to-customer "
    "(it creates or links the customer)."
)


def converted_message(lead_id) -> str:
    return (
        f"Lead {lead_id} has been converted to a customer: its status stays 'converted'. "
        f"To undo the conversion, an organization admin sends POST /leads/{lead_id}/unconvert."
    )


def check_status_change(*, lead, status) -> None:
    """Refuse writing `status` to `lead` (None: a new lead) unless the lifecycle allows it.

    Raises ValidationError (400, `use_convert_endpoint`) for a write asking for `converted`, and
    Conflict (409, `lead_converted`) for a change of a converted lead's status. `status` None:
    the write leaves the status alone.
    """
    current = None if lead is None else lead.status
    if status is None or status == current:
        return
    if current == LeadStatus.CONVERTED:
        raise Conflict({"status": [converted_message(lead.pk)]}, code="lead_converted")
    if status == LeadStatus.CONVERTED:
        raise ValidationError({"status": [ErrorDetail(USE_CONVERT_ENDPOINT, code="use_convert_endpoint")]})


def lifecycle_problem(*, lead, status) -> tuple | None:
    """check_status_change as (field, message, code), or None: for callers that report rather than raise."""
    try:
        check_status_change(lead=lead, status=status)
    except ValidationError as exc:
        detail = exc.detail["status"][0]
        return "status", str(detail), detail.code
    except Conflict as exc:
        return "status", str(exc.detail["status"][0]), "lead_converted"
    return None
