"""QUBS records over ``sandbox.store``: appointments, the pending-reporting worklist, reports, comments.

Records are keyed ``("qubs", <domain>, <kind>, <id>)``, so one domain never sees another's data.
Attachments live in ``attachments.py``.
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime
from typing import Any

from mock_server.core.clock import iso_z
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.qubs.errors import BadRequest, NotFound
from mock_server.vendors.qubs.paging import decode_cursor, encode_cursor
from mock_server.vendors.qubs.spec import DOCUMENT

VENDOR = "qubs"
PENDING_REPORTING = "PENDING REPORTING"
STATUS_AFTER_FINAL_REPORT = "FINALISED"
APPOINTMENT_STATUSES = (
    "NOT ARRIVED",
    "ARRIVED",
    "DID NOT ATTEND",
    "APPPOINTMENT CANCELLED",
    "CANCELLATION LIST",
    "DICTATION INPROGRESS",
    "DICTATED",
    "TYPED",
    "AUTHORISING",
    "AUTHORISED",
    "TYPING INPROGRESS",
    PENDING_REPORTING,
    "STUDY INPROGRESS",
    "SECOND REVIEW",
    "FINALISED",
    "REVIEW TYPED",
    "PEER REVIEW",
    "SECOND OPINION",
)
# JSON Schema counts characters; QUBS caps reportText in UTF-8 bytes (an extension keyword).
REPORT_TEXT_MAX_BYTES = DOCUMENT.component("SubmitReportRequest")["properties"]["reportText"][
    "x-max-utf8-bytes"
]
# The request accepts any case; the values are the response schema's enum.
REPORT_STATUSES = tuple(DOCUMENT.component("SubmitReportResponse")["properties"]["reportStatus"]["enum"])


# -- appointments --------------------------------------------------------------------------
def appointment(sandbox: Sandbox, domain: str, appointment_id: str) -> dict[str, Any]:
    """Any appointment of ``domain``. Raises: NotFound."""
    record = sandbox.store.get(VENDOR, domain, "appointment", appointment_id)
    if record is None:
        raise NotFound(f"Appointment {appointment_id} was not found.")
    return record


def pending_appointment(sandbox: Sandbox, domain: str, appointment_id: str) -> dict[str, Any]:
    """An appointment of ``domain`` in PENDING REPORTING. Raises: NotFound (unknown or other status)."""
    record = sandbox.store.get(VENDOR, domain, "appointment", appointment_id)
    if record is None or record["status"] != PENDING_REPORTING:
        raise NotFound(f"Appointment {appointment_id} was not found or is not in {PENDING_REPORTING} status.")
    return record


def appointment_view(record: dict[str, Any]) -> dict[str, Any]:
    return dict(record)


def list_pending(sandbox: Sandbox, domain: str, page_size: int, next_token: str | None) -> dict[str, Any]:
    """One page of the domain's PENDING REPORTING appointments, ordered by appointment id.

    The cursor remembers the last id served, so appointments leaving the worklist between pages
    never make a later page skip one. Raises: BadRequest for a nextToken this server did not issue.
    """
    after = decode_cursor(next_token) if next_token else None
    pending = sandbox.store.list(
        VENDOR,
        domain,
        "appointment",
        where=lambda r: r["status"] == PENDING_REPORTING and (after is None or r["appointmentId"] > after),
    )
    # One page and one more (to know whether a next page exists), without sorting the whole worklist.
    page = heapq.nsmallest(page_size + 1, pending, key=lambda r: r["appointmentId"])
    body: dict[str, Any] = {"items": [appointment_view(r) for r in page[:page_size]]}
    if len(page) > page_size:
        body["nextToken"] = encode_cursor(page[page_size - 1]["appointmentId"])
    return body


# -- reports -------------------------------------------------------------------------------
def submit_report(
    sandbox: Sandbox, user: dict[str, str], domain: str, appointment_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Store (overwrite) the appointment's report; a final report takes it out of PENDING REPORTING.

    Raises: NotFound (appointment unknown or not pending), BadRequest (reportText size, reportStatus).
    """
    text, status = body["reportText"], body["reportStatus"].lower()
    with sandbox.store.transaction():
        record = pending_appointment(sandbox, domain, appointment_id)
        if status not in REPORT_STATUSES:
            raise BadRequest(
                f"reportStatus: must be one of {', '.join(REPORT_STATUSES)}, case-insensitive (enum); "
                f"got {body['reportStatus']!r}."
            )
        size = len(text.encode("utf-8"))
        if size > REPORT_TEXT_MAX_BYTES:
            raise BadRequest(
                f"reportText: must be at most {REPORT_TEXT_MAX_BYTES} bytes when UTF-8 "
                f"encoded (maxBytes); got {size} bytes."
            )
        submitted = iso_z(sandbox.clock.now())
        report = {
            "domain": domain,
            "appointmentId": appointment_id,
            "reportStatus": status,
            "reportText": text,
            "interpretingClinicianName": body.get("interpretingClinicianName"),
            "interpretingClinicianProviderNumber": body.get("interpretingClinicianProviderNumber"),
            "submittedDateTime": submitted,
            "submittedBy": user,
        }
        sandbox.store.put(VENDOR, domain, "report", appointment_id, report)
        if status == "final":
            record["status"] = STATUS_AFTER_FINAL_REPORT
            sandbox.store.put(VENDOR, domain, "appointment", appointment_id, record)
    return {
        "domain": domain,
        "appointmentId": appointment_id,
        "reportStatus": status,
        "appointmentStatus": record["status"],
        "submittedDateTime": submitted,
        "submittedBy": user,
    }


# -- comments ------------------------------------------------------------------------------
def create_comment(
    sandbox: Sandbox, user: dict[str, str], domain: str, appointment_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Add a comment or alert to a pending appointment.

    Raises: NotFound (appointment unknown or not pending), BadRequest (commentDateTime not a date-time).
    """
    is_alert = bool(body.get("isAlert"))
    comment_type = body.get("commentType") or ("AA" if is_alert else "AC")
    pending_appointment(sandbox, domain, appointment_id)
    now = sandbox.clock.now()
    when = _utc_datetime(body["commentDateTime"]) if body.get("commentDateTime") else now
    comment = {
        "commentId": sandbox.ids.uuid4(),
        "domain": domain,
        "appointmentId": appointment_id,
        "commentType": comment_type,
        "commentText": body["commentText"],
        "isAlert": is_alert,
        "commentDateTime": iso_z(when),
        "createdDateTime": iso_z(now),
        "createdBy": user,
    }
    sandbox.store.put(VENDOR, domain, "comment", comment["commentId"], comment)
    return comment


def _utc_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise BadRequest(f"commentDateTime: must be an ISO 8601 date-time (format); got {text!r}.") from exc
    if value.tzinfo is None:
        raise BadRequest(f"commentDateTime: must carry a UTC offset or Z (format); got {text!r}.")
    return value.astimezone(UTC)
