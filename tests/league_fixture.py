"""A hand-built fixture for the league table (issue 27), in Circle C1 of tests/factories.py.
NOW is Monday 23 Nov 2026, 11:00 in India; the "week" is 17-23 Nov, the previous one
10-16 Nov; no holidays, Saturday and Sunday off.

    case  kind             office  raised            then                                  bdays
    S1    service_request  D1(R1)  Mon 16 (NOW-7d)   completed Thu 19 (NOW-4d), rated 5     3
    S2    service_request  D1(R1)  Tue 17 (NOW-6d)   SLA breached, completed Sun 22         3
    S3    service_request  D1(R1)  Fri 13 (NOW-10d)  completed Sat 14 (previous week)       0
    K1    complaint "mail" D2(R1)  Wed 18 (NOW-5d)   proposed, REJECTED Thu 19, proposed,
                                                      accepted Sat 21 (NOW-2d)               2
    S4    service_request  D3(R2)  Fri 20 (NOW-3d)   in progress, SLA breached (pending)
    S5    service_request  D3(R2)  Sat 21 (NOW-2d)   completed Sun 22 (NOW-1d), rated 1     0
    K2    complaint "mail" SO3(R2) Sun 22 (NOW-1d)   open; same mobile and service as K1:
                                                      a possible repeat of K1

Expected, by the rules (independently of the SQL), for C1's week:
    R1: raised 2 (S2, K1), repeats 0, closed 3 (S1, S2, K1), within SLA 2 -> 66.7 %,
        business days [2, 3, 3] -> median 3, p90 3; rejections 1; rating 5.0;
        not closed 0 -> no backlog part. Previous week: closed 1 (S3) within SLA, median 0.
        index = (66.67x40 + 100x15 + 66.67x10 + 100x10) / 75 = 77.8
    R2: raised 3 (S4, S5, K2), repeats 1 (K2), closed 1 (S5) within SLA -> 100 %, median 0;
        rating 1.0; not closed 2 (S4, K2), pending beyond SLA 1 (S4).
        index = (100x40 + 50x25 + 0x15 + 100x10 + 66.67x10) / 100 = 69.2
    Worst first: R2, R1.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from app.services.engine import cases
from tests.conftest import NOW
from tests.factories import make_case

D = timedelta(days=1)
H = timedelta(hours=1)
MOBILE = {"name": "Ravi", "mobile": "9812345678"}


def build(w) -> SimpleNamespace:
    c = SimpleNamespace()

    def sr(office, op, ago, done_ago=None, breach=False, rating=None):
        case = make_case("service_request", office, now=NOW - ago)
        if done_ago is not None or breach:
            cases.act(case, "start", actor=op, now=NOW - ago + H)
        if breach:
            cases.act(case, "sla_breach", as_="system", now=NOW - ago + 2 * H)
        if done_ago is not None:
            cases.act(case, "complete", actor=op, now=NOW - done_ago)
        if rating:
            cases.act(case, "rate", as_="requester", now=NOW - done_ago + H, data={"rating": rating})
        return case

    c.S1 = sr(w.d1, w.d1_op, 7 * D, 4 * D, rating=5)
    c.S2 = sr(w.d1, w.d1_op, 6 * D, 1 * D, breach=True)
    c.S3 = sr(w.d1, w.d1_op, 10 * D, 9 * D)
    c.K1 = make_case("complaint", w.d2, actor=w.d2_op, now=NOW - 5 * D, category=w.cat, requester=dict(MOBILE))
    cases.act(c.K1, "start", actor=w.d2_op, now=NOW - 5 * D + H)
    cases.act(c.K1, "propose_resolution", actor=w.d2_op, now=NOW - 4 * D, text="Delivered.")
    cases.act(c.K1, "reject", as_="requester", now=NOW - 4 * D + 2 * H, text="Not received.")
    cases.act(c.K1, "start", actor=w.r1_op, now=NOW - 3 * D)
    cases.act(c.K1, "propose_resolution", actor=w.r1_op, now=NOW - 3 * D + H, text="Redelivered.")
    cases.act(c.K1, "accept", as_="requester", now=NOW - 2 * D)
    c.S4 = sr(w.d3, w.d3_op, 3 * D, breach=True)
    c.S5 = sr(w.d3, w.d3_op, 2 * D, 1 * D, rating=1)
    c.K2 = make_case("complaint", w.so3, actor=w.so3_user, now=NOW - 1 * D, category=w.cat,
                     requester=dict(MOBILE))
    return c
