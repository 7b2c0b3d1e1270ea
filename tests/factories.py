"""Test factories (CTFd style `make_*`)."""

from __future__ import annotations

from types import SimpleNamespace

from app.extensions import db
from app.models import Category, OrgUnit, PincodeEntry, SlaRule, User
from app.services import cases
from tests.conftest import NOW

PASSWORD = "Password-123"
_seq = [20000000]


def make_office(code, kind, parent=None, name=None) -> OrgUnit:
    unit = OrgUnit(code=code, name=name or code, kind=kind)
    db.session.add(unit)
    db.session.flush()
    unit.set_parent(parent)
    db.session.commit()
    return unit


def make_user(office, roles=("operator",), login_id=None, name=None, email=True) -> User:
    if login_id is None:
        _seq[0] += 1
        login_id = f"{_seq[0]:08d}"
    user = User(login_id=login_id, name=name or f"User {login_id}", office_id=office.id,
                email=f"{login_id.lower()}@example.test" if email else None, mobile="9876543210")
    user.set_password(PASSWORD)
    user.set_roles(roles)
    db.session.add(user)
    db.session.commit()
    return user


def make_world() -> SimpleNamespace:
    """CEPT → circle C1 (region R1 → divisions D1, D2; region R2 → D3) and circle C2
    (region R3 → D4); post offices under D1 and D3; teams, a department, externals."""
    w = SimpleNamespace()
    w.cept = make_office("CEPT", "cept")
    w.c1 = make_office("C1", "circle", w.cept)
    w.c2 = make_office("C2", "circle", w.cept)
    w.r1 = make_office("R1", "region", w.c1)
    w.r2 = make_office("R2", "region", w.c1)
    w.r3 = make_office("R3", "region", w.c2)
    w.d1 = make_office("D1", "division", w.r1)
    w.d2 = make_office("D2", "division", w.r1)
    w.d3 = make_office("D3", "division", w.r2)
    w.d4 = make_office("D4", "division", w.r3)
    w.ho1 = make_office("PO11111111111", "head_office", w.d1)
    w.so1 = make_office("PO11111111112", "sub_office", w.ho1)
    w.so3 = make_office("PO33333333331", "sub_office", w.d3)
    w.dept = make_office("DEPT", "department", w.cept, name="IT Support")
    w.team = make_office("TEAM", "team", w.cept, name="Technical Team")
    w.ext = make_office("EXT", "external", w.cept, name="Customs")
    w.cept_user = make_user(w.cept, ["operator", "supervisor"])
    w.admin = make_user(w.cept, ["admin", "supervisor", "monitor"])
    w.c1_sup = make_user(w.c1, ["supervisor", "monitor"])
    w.c1_op = make_user(w.c1, ["operator"])
    w.c2_sup = make_user(w.c2, ["supervisor"])
    w.r1_op = make_user(w.r1, ["operator", "supervisor"])
    w.r1_mon = make_user(w.r1, ["monitor"])
    w.r2_op = make_user(w.r2, ["operator"])
    w.r3_op = make_user(w.r3, ["operator"])
    w.d1_op = make_user(w.d1, ["operator"])
    w.d1_op2 = make_user(w.d1, ["operator"])
    w.d1_sup = make_user(w.d1, ["supervisor"])
    w.d2_op = make_user(w.d2, ["operator"])
    w.d3_op = make_user(w.d3, ["operator"])
    w.ho1_op = make_user(w.ho1, ["operator"])
    w.ho1_sup = make_user(w.ho1, ["supervisor"])
    w.so1_user = make_user(w.so1, ["operator"], login_id="PO11111111112")
    w.so3_user = make_user(w.so3, ["operator"], login_id="PO33333333331")
    w.dept_user = make_user(w.dept, ["operator"])
    w.dept_user2 = make_user(w.dept, ["operator"])
    w.team_user = make_user(w.team, ["operator"])
    db.session.add(PincodeEntry(pincode="560001", office_name="Bangalore GPO", division_id=w.d1.id))
    db.session.add(SlaRule(kind="complaint", priority="P3", response_days=2, resolution_days=7))
    w.cat = Category(kind="complaint", code="mail", name_en="Mail", name_hi="डाक", name_fa="مرسولات")
    db.session.add(w.cat)
    db.session.commit()
    return w


CITIZEN = {"name": "Ravi Kumar", "mobile": "9876543210", "email": "ravi@example.in",
           "address": "1 MG Road", "pincode": "560001"}


def make_case(kind, office, actor=None, now=NOW, **kw):
    kw.setdefault("subject", f"A {kind}")
    kw.setdefault("description", "Details of the problem.")
    if actor is None and "requester" not in kw:
        kw["requester"] = dict(CITIZEN)
    return cases.raise_case(kind, office=office, actor=actor, now=now, **kw)
