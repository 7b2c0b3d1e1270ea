"""Helpdesk pages in Persian: right-to-left and none of this area's English labels."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.services.engine import timers
from tests.conftest import NOW
from tests.test_helpdesk_sla import build_desk, log
from tests.test_interactions_i18n import assert_persian_page, english_labels


@pytest.fixture
def desk(world):
    return build_desk(world)


def test_helpdesk_pages_in_persian(client, auth, desk):
    labels = english_labels(("app/templates/helpdesk/", "app/blueprints/helpdesk/"))
    assert "Ticket id to share with the caller:" in labels
    late = log(desk, "technical", "P1", now=NOW - timedelta(days=5))
    timers.sweep(NOW)
    client.set_cookie("lang", "fa")
    auth.login(desk.operator.login_id)
    for url in ("/helpdesk/new", "/cases/?view=helpdesk-log", "/helpdesk/report", f"/cases/{late.reference}"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert_persian_page(r.data, labels, must=("میز خدمت",))
    r = client.get("/helpdesk/report")
    for short in ("Tickets", "Met", "Breached", "Pending", "Compliance", "Routed team"):
        assert f">{short}<" not in r.data.decode()
    assert "نقض‌شده" in r.data.decode()
    r = client.post("/helpdesk/new", data={"channel": "phone"})
    assert r.status_code == 422
    assert_persian_page(r.data, labels, must=("لطفاً این قسمت را تکمیل کنید.",))
    auth.logout()
    auth.login(desk.team_user.login_id)
    r = client.get("/cases/?view=helpdesk-queue")
    assert_persian_page(r.data, labels, must=("صف تیم", "معوق"))
    fresh = log(desk, "technical", "P2")
    r = client.get(f"/cases/{fresh.reference}")
    assert_persian_page(r.data, labels, must=("پاسخ به تماس‌گیرنده", "بستن به‌عنوان حل‌شده"))
