"""Test factories (CTFd style `make_*`)."""

from __future__ import annotations

from types import SimpleNamespace

from app.extensions import db
from app.models import Category, OrgUnit, PincodeEntry, SlaRule, User
from app.services.engine import cases
from tests.conftest import NOW

PASSWORD = "Password-123"
_seq = [20000000]


def make_office(code, kind, parent=None, name=None, commit=True) -> OrgUnit:
    unit = OrgUnit(code=code, name=name or code, kind=kind)
    db.session.add(unit)
    db.session.flush()
    unit.set_parent(parent)
    if commit:
        db.session.commit()
    return unit


def make_user(office, roles=("operator",), login_id=None, name=None, email=True, commit=True) -> User:
    if login_id is None:
        _seq[0] += 1
        login_id = f"{_seq[0]:08d}"
    user = User(login_id=login_id, name=name or f"User {login_id}", office_id=office.id,
                email=f"{login_id.lower()}@example.test" if email else None, mobile="9876543210")
    user.set_password(PASSWORD)
    user.set_roles(roles)
    db.session.add(user)
    if commit:
        db.session.commit()
    return user


def make_world() -> SimpleNamespace:
    """CEPT → circle C1 (region R1 → divisions D1, D2; region R2 → D3) and circle C2
    (region R3 → D4); post offices under D1 and D3; teams, a department, externals."""
    w = SimpleNamespace()
    w.cept = make_office("CEPT", "cept", commit=False)
    w.c1 = make_office("C1", "circle", w.cept, commit=False)
    w.c2 = make_office("C2", "circle", w.cept, commit=False)
    w.r1 = make_office("R1", "region", w.c1, commit=False)
    w.r2 = make_office("R2", "region", w.c1, commit=False)
    w.r3 = make_office("R3", "region", w.c2, commit=False)
    w.d1 = make_office("D1", "division", w.r1, commit=False)
    w.d2 = make_office("D2", "division", w.r1, commit=False)
    w.d3 = make_office("D3", "division", w.r2, commit=False)
    w.d4 = make_office("D4", "division", w.r3, commit=False)
    w.ho1 = make_office("PO11111111111", "head_office", w.d1, commit=False)
    w.so1 = make_office("PO11111111112", "sub_office", w.ho1, commit=False)
    w.so3 = make_office("PO33333333331", "sub_office", w.d3, commit=False)
    w.dept = make_office("DEPT", "department", w.cept, name="IT Support", commit=False)
    w.team = make_office("TEAM", "team", w.cept, name="Technical Team", commit=False)
    w.ext = make_office("EXT", "external", w.cept, name="Customs", commit=False)
    w.cept_user = make_user(w.cept, ["operator", "supervisor"], commit=False)
    w.admin = make_user(w.cept, ["admin", "supervisor", "monitor"], commit=False)
    w.c1_sup = make_user(w.c1, ["supervisor", "monitor"], commit=False)
    w.c1_op = make_user(w.c1, ["operator"], commit=False)
    w.c2_sup = make_user(w.c2, ["supervisor"], commit=False)
    w.r1_op = make_user(w.r1, ["operator", "supervisor"], commit=False)
    w.r1_mon = make_user(w.r1, ["monitor"], commit=False)
    w.r2_op = make_user(w.r2, ["operator"], commit=False)
    w.r3_op = make_user(w.r3, ["operator"], commit=False)
    w.d1_op = make_user(w.d1, ["operator"], commit=False)
    w.d1_op2 = make_user(w.d1, ["operator"], commit=False)
    w.d1_sup = make_user(w.d1, ["supervisor"], commit=False)
    w.d2_op = make_user(w.d2, ["operator"], commit=False)
    w.d3_op = make_user(w.d3, ["operator"], commit=False)
    w.ho1_op = make_user(w.ho1, ["operator"], commit=False)
    w.ho1_sup = make_user(w.ho1, ["supervisor"], commit=False)
    w.so1_user = make_user(w.so1, ["operator"], login_id="PO11111111112", commit=False)
    w.so3_user = make_user(w.so3, ["operator"], login_id="PO33333333331", commit=False)
    w.dept_user = make_user(w.dept, ["operator"], commit=False)
    w.dept_user2 = make_user(w.dept, ["operator"], commit=False)
    w.team_user = make_user(w.team, ["operator"], commit=False)
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
