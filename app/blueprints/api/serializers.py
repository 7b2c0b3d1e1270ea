"""JSON shapes of cases: citizen-safe (masked, public events) and partner views."""

from __future__ import annotations

from datetime import datetime

from app.i18n import action_label, kind_label, status_label
from app.models import Case
from app.services.front_doors import citizen


def iso(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def event_json(e, text: str | None = None) -> dict:
    return {"type": e.type, "label": action_label(e.type), "at": iso(e.at),
            "status": getattr(e, "status", None) or getattr(e, "to_status", None),
            "text": e.text if text is None else text}


def public_case(case: Case) -> dict:
    """What the public tracking page shows: status, masked contact, public events."""
    pin = citizen.lookup_pincode(case.pincode)
    return {
        "reference": case.reference, "kind": case.kind, "kind_label": kind_label(case.kind),
        "status": case.status, "status_label": status_label(case.status),
        "service": case.category.label() if case.category else case.subject,
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at),
        "closed_at": iso(case.closed_at),
        "requester": {"name": citizen.mask_name(case.requester_name),
                      "mobile": citizen.mask_mobile(case.requester_mobile),
                      "email": citizen.mask_email(case.requester_email)},
        "serving_office": pin.office_name if pin else None,
        "events": [event_json(e) for e in citizen.public_timeline(case, full=False)],
    }


def summary(case: Case) -> dict:
    return {"reference": case.reference, "kind": case.kind, "status": case.status,
            "status_label": status_label(case.status),
            "service": case.category.label() if case.category else case.subject,
            "created_at": iso(case.created_at), "updated_at": iso(case.updated_at)}


def office_json(office) -> dict | None:
    # "name" in the Accept-Language of the request (English when the office has none).
    return {"code": office.code, "name": office.label(), "kind": office.kind} if office else None


def partner_case(case: Case, events=None) -> dict:
    out = {
        "reference": case.reference, "kind": case.kind, "status": case.status,
        # What the case is about: the subject as typed, else its catalogue row named in
        # the request's Accept-Language (the case keeps no copy of the name).
        "status_label": status_label(case.status), "subject": case.subject_label(),
        "category": case.category.label() if case.category else None,
        "priority": case.priority, "channel": case.channel,
        "office": office_json(case.current_office),
        "external_office": office_json(case.external_office),
        "escalation_level": case.escalation_level, "pincode": case.pincode,
        "requester": {"name": citizen.mask_name(case.requester_name),
                      "mobile": citizen.mask_mobile(case.requester_mobile)},
        "version": case.version,
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at),
        "closed_at": iso(case.closed_at), "response_due": iso(case.response_due),
        "resolution_due": iso(case.resolution_due),
    }
    if events is not None:
        out["description"] = case.description
        out["events"] = [event_json(e) for e in events]
    return out
