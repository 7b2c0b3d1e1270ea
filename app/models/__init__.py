"""All models, importable from one place."""

from app.models.admin import NotificationTemplate
from app.models.case import Attachment, Case, CaseEvent, Feedback
from app.models.catalog import Category, Holiday, PincodeEntry, SlaRule
from app.models.org import HIERARCHY, OfficeKind, OrgUnit, Role, User, UserRole
from app.models.outbox import AuditLog, Notification

__all__ = [
    "Attachment",
    "AuditLog",
    "Case",
    "CaseEvent",
    "Category",
    "Feedback",
    "HIERARCHY",
    "Holiday",
    "Notification",
    "NotificationTemplate",
    "OfficeKind",
    "OrgUnit",
    "PincodeEntry",
    "Role",
    "SlaRule",
    "User",
    "UserRole",
]
