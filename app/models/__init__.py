"""All models, importable from one place."""

from app.models.admin import NotificationTemplate
from app.models.api_key import ApiKey
from app.models.case import (
    Attachment,
    BacklogSnapshot,
    Case,
    CaseDayTally,
    CaseDisposalTally,
    CaseEvent,
    CaseFlowTally,
    CaseTally,
    Feedback,
    WeeklySummary,
)
from app.models.catalog import CatalogueName, Category, Holiday, PincodeEntry, RefGeneration, SlaRule
from app.models.citizen import OtpCode
from app.models.mail import MailIntake
from app.models.org import HIERARCHY, LoginThrottle, OfficeKind, OrgUnit, Role, User, UserRole
from app.models.outbox import AuditLog, Notification, OfficeNotice
from app.models.review import ComplaintReview

__all__ = [
    "ApiKey",
    "Attachment",
    "BacklogSnapshot",
    "CaseDisposalTally",
    "CaseFlowTally",
    "WeeklySummary",
    "AuditLog",
    "Case",
    "CaseEvent",
    "CaseDayTally",
    "CaseTally",
    "CatalogueName",
    "Category",
    "ComplaintReview",
    "Feedback",
    "HIERARCHY",
    "MailIntake",
    "Holiday",
    "LoginThrottle",
    "Notification",
    "NotificationTemplate",
    "OfficeNotice",
    "OfficeKind",
    "OrgUnit",
    "OtpCode",
    "PincodeEntry",
    "RefGeneration",
    "Role",
    "SlaRule",
    "User",
    "UserRole",
]
