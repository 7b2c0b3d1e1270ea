"""Helpers shared by the API tests."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.services.administration import api_keys
from tests.conftest import NOW


def new_key(office_code: str, name: str = "Customs EDI") -> str:
    return api_keys.create(office_code, name, now=NOW)[1]


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def otp_from_outbox(mobile: str = "9876543210") -> str:
    sms = db.session.scalar(select(Notification).where(Notification.template == "otp",
                                                       Notification.recipient == mobile)
                            .order_by(Notification.id.desc()))
    return re.search(r"\b(\d{6})\b", sms.body).group(1)
