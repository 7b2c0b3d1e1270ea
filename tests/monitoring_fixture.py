"""A hand-computed fixture for the monitoring tests: ten cases spread over the world of
tests/factories.py, each brought to a known state through the case engine.

    case  kind             office  raised      state                       notes
    A     complaint        SO1     NOW-3d      open
    B     complaint        SO1     NOW-0.5d    in_progress
    C     complaint        HO1     NOW-6d      awaiting_info
    D     complaint        D2      NOW-12d     pending_external
    E     service_request  D1      NOW-1.4d    closed at NOW-1h (today)     rated 4; raised 22 Nov IST
    F     service_request  D3      NOW-4d      closed at NOW-2d             rated 2
    G     service_request  D3      NOW-8d      in_progress, SLA breached
    H     service_request  D4      NOW-0.2d    open                         priority P1
    I     complaint        C1      NOW-2.5d    open (held at the Circle)
    J     complaint        SO1     NOW-20d     awaiting_confirmation
Complaints carry the category "mail"; service requests none.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from app.services.engine import cases
from tests.conftest import NOW
from tests.factories import make_case

D = timedelta(days=1)
H = timedelta(hours=1)


def build(w) -> SimpleNamespace:
    c = SimpleNamespace()

    def complaint(office, actor, ago, **kw):
        return make_case("complaint", office, actor=actor, now=NOW - ago, category=w.cat,
                         requester={"name": "Asha", "mobile": "9876543210"}, **kw)

    c.A = complaint(w.so1, w.so1_user, 3 * D)
    c.B = complaint(w.so1, w.so1_user, 0.5 * D)
    cases.act(c.B, "start", actor=w.so1_user, now=NOW - 0.4 * D)
    c.C = complaint(w.ho1, w.ho1_op, 6 * D)
    cases.act(c.C, "start", actor=w.ho1_op, now=NOW - 5 * D)
    cases.act(c.C, "request_info", actor=w.ho1_op, now=NOW - 4 * D, text="Receipt please.")
    c.D = complaint(w.d2, w.d2_op, 12 * D)
    cases.act(c.D, "start", actor=w.d2_op, now=NOW - 11 * D)
    cases.act(c.D, "refer_external", actor=w.d2_op, now=NOW - 10 * D, text="Customs.", target_office=w.ext)
    c.E = make_case("service_request", w.d1, now=NOW - 1.4 * D)
    cases.act(c.E, "start", actor=w.d1_op, now=NOW - 1.2 * D)
    cases.act(c.E, "complete", actor=w.d1_op, now=NOW - H)
    cases.act(c.E, "rate", as_="requester", now=NOW - 0.5 * H, data={"rating": 4})
    c.F = make_case("service_request", w.d3, now=NOW - 4 * D)
    cases.act(c.F, "start", actor=w.d3_op, now=NOW - 3 * D)
    cases.act(c.F, "complete", actor=w.d3_op, now=NOW - 2 * D)
    cases.act(c.F, "rate", as_="requester", now=NOW - 1.9 * D, data={"rating": 2})
    c.G = make_case("service_request", w.d3, now=NOW - 8 * D)
    cases.act(c.G, "start", actor=w.d3_op, now=NOW - 7 * D)
    cases.act(c.G, "sla_breach", as_="system", now=NOW - 6 * D)
    c.H = make_case("service_request", w.d4, now=NOW - 0.2 * D, priority="P1")
    c.I = complaint(w.c1, w.c1_op, 2.5 * D)
    c.J = complaint(w.so1, w.so1_user, 20 * D)
    cases.act(c.J, "start", actor=w.so1_user, now=NOW - 19 * D)
    cases.act(c.J, "propose_resolution", actor=w.so1_user, now=NOW - 18 * D, text="Delivered.")
    return c


ZERO = {"total": 0, "open": 0, "in_progress": 0, "awaiting_customer": 0, "pending_external": 0,
        "closed_today": 0, "breached": 0, "active": 0, "closed": 0}


def counts(**kw) -> dict:
    out = dict(ZERO)
    out.update(kw)
    return out


# Expected tiles per scope (hand-computed from the table above).
TILES = {
    "cept": counts(total=10, open=3, in_progress=2, awaiting_customer=2, pending_external=1,
                   closed_today=1, breached=1, active=8, closed=2),
    "c1": counts(total=9, open=2, in_progress=2, awaiting_customer=2, pending_external=1,
                 closed_today=1, breached=1, active=7, closed=2),
    "c2": counts(total=1, open=1, active=1),
    "r1": counts(total=6, open=1, in_progress=1, awaiting_customer=2, pending_external=1,
                 closed_today=1, active=5, closed=1),
    "r2": counts(total=2, in_progress=1, breached=1, active=1, closed=1),
    "d1": counts(total=5, open=1, in_progress=1, awaiting_customer=2, closed_today=1, active=4, closed=1),
    "d2": counts(total=1, pending_external=1, active=1),
}
RATING = {"cept": (3.0, 2), "c1": (3.0, 2), "c2": (None, 0), "r1": (4.0, 1), "r2": (2.0, 1),
          "d1": (4.0, 1), "d2": (None, 0)}
# Breakdown by child office: {scope: {office attr: counts}}; "here" = held at the scope itself.
OFFICES = {
    "c1": {"r1": TILES["r1"], "r2": TILES["r2"], "here": counts(total=1, open=1, active=1)},
    "r1": {"d1": TILES["d1"], "d2": TILES["d2"]},
    "d1": {"ho1": counts(total=4, open=1, in_progress=1, awaiting_customer=2, active=4),
           "here": counts(total=1, closed_today=1, closed=1)},
}
AGEING = {
    "cept": [("0-1", 2), ("1-2", 0), ("2-5", 2), ("5-10", 2), ("10+", 2)],
    "r1": [("0-1", 1), ("1-2", 0), ("2-5", 1), ("5-10", 1), ("10+", 2)],
}
