"""Helpers shared by the doorstep service request tests."""

from __future__ import annotations

from app.extensions import db
from app.models import Category, PincodeEntry
from tests.factories import CITIZEN, make_case

SERVICES = [
    ("cash_withdrawal", "Cash withdrawal at the doorstep", "घर पर नकद निकासी", "برداشت وجه نقد در محل"),
    ("pension_delivery", "Pension delivery", "पेंशन वितरण", "تحویل مستمری"),
    ("life_certificate", "Digital life certificate", "डिजिटल जीवन प्रमाण पत्र", "گواهی حیات دیجیتال"),
]


def add_services(world):
    """Doorstep service types and a pincode served by D3 next to D1's 560001."""
    cats = []
    for i, (code, en, hi, fa) in enumerate(SERVICES):
        c = Category(kind="service_request", level="service", code=code, name_en=en, name_hi=hi,
                     name_fa=fa, sort_order=i)
        db.session.add(c)
        cats.append(c)
    db.session.add(PincodeEntry(pincode="570001", office_name="Mysuru HO", division_id=world.d3.id))
    db.session.commit()
    world.services = cats
    return cats


def form_data(service, **over):
    data = {"name": CITIZEN["name"], "address": CITIZEN["address"], "pincode": "560001",
            "email": CITIZEN["email"], "mobile": CITIZEN["mobile"], "service": str(service.id),
            "details": "Please come after 10 am.", "submission_key": "key-" + "x" * 20}
    data.update(over)
    return data


def make_request(world, office=None, service=None, **kw):
    """A doorstep request through the engine, as the public form would raise it."""
    service = service or world.services[0]
    kw.setdefault("requester", {**CITIZEN, "locale": "en"})
    # no subject text: the service is the subject (issue 25), as `citizen.submit_request` raises it
    return make_case("service_request", office or world.d1, category=service, subject="", **kw)
