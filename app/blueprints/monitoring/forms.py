"""The dashboard's filter form (a GET form: no CSRF needed for a read)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import Optional, ValidationError

from app.dates import LocalDateField
from app.i18n import KIND_LABELS, PRIORITY_LABELS

IsoDateField = LocalDateField  # typed in the reader's calendar; ISO dates still read (app.dates)


class DashboardFilterForm(FlaskForm):
    """Date range (raised between), kind, category and priority."""

    class Meta:
        csrf = False

    office = HiddenField()
    days = HiddenField()
    date_from = IsoDateField(_l("Raised from"), validators=[Optional()])
    date_to = IsoDateField(_l("Raised until"), validators=[Optional()])
    kind = SelectField(_l("Kind"), validators=[Optional()], validate_choice=False)
    category = SelectField(_l("Category"), validators=[Optional()], validate_choice=False)
    priority = SelectField(_l("Priority"), validators=[Optional()], validate_choice=False)

    def __init__(self, *args, categories=(), kinds=None, **kwargs):
        """`kinds`: the kinds the user may watch (None: every kind, and "All kinds")."""
        super().__init__(*args, **kwargs)
        if kinds is None:
            self.kind.choices = [("", _l("All kinds"))] + [(k, v) for k, v in KIND_LABELS.items()]
        else:
            self.kind.choices = [(k, v) for k, v in KIND_LABELS.items() if k in kinds]
        self.priority.choices = [("", _l("All priorities"))] + [(k, v) for k, v in PRIORITY_LABELS.items()]
        groups: dict = {}
        for c in categories:
            groups.setdefault(str(KIND_LABELS.get(c.kind, c.kind)), []).append((str(c.id), c.label()))
        self.category.choices = {"": [("", _l("All categories"))], **groups}

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must not be before the start date."))

    def validate_kind(self, field):
        if field.data and field.data not in KIND_LABELS:
            raise ValidationError(_l("Choose a kind from the list."))

    def validate_priority(self, field):
        if field.data and field.data not in PRIORITY_LABELS:
            raise ValidationError(_l("Choose a priority from the list."))

    def validate_category(self, field):
        if not field.data:
            return
        valid = {v for group in self.category.choices.values() for v, _label in group}
        if field.data not in valid:
            raise ValidationError(_l("Choose a category from the list."))
