"""Forms shared by every kind's case page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.dates import LocalDateField
from app.inputs import digits


class ActionForm(FlaskForm):
    """One workflow action on one case version."""

    action = HiddenField(validators=[DataRequired()])
    version = HiddenField(validators=[DataRequired()])
    text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    office = SelectField(_l("Office"), coerce=str, validators=[Optional()], validate_choice=False)
    user = SelectField(_l("Colleague"), coerce=str, validators=[Optional()], validate_choice=False)
    attachment = FileField(_l("Attachment (JPEG or PDF)"))


class QueueFilterForm(FlaskForm):
    """GET form: search and filters of an inbox view (no CSRF needed for a read). Every
    view has search, status (and kind where it spans kinds); the others are the extra
    filters some views have (`app.services.views.View.extras`)."""

    class Meta:
        csrf = False

    view = HiddenField()
    q = StringField(_l("Search"), filters=[digits], validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=False)
    kind = SelectField(_l("Kind"), validators=[Optional()], validate_choice=False)
    # office tickets
    level = SelectField(_l("Level"), validators=[Optional()], validate_choice=False)
    category = SelectField(_l("Category"), validators=[Optional()], validate_choice=False)
    # complaints: one of Complaint Processing's queues
    queue = SelectField(_l("Queue"), validators=[Optional()], validate_choice=False)
    # doorstep requests
    service = SelectField(_l("Type of service"), validators=[Optional()], validate_choice=False)
    date_from = LocalDateField(_l("Raised from"), validators=[Optional()])
    date_to = LocalDateField(_l("Raised until"), validators=[Optional()])
    division = HiddenField()
    # tickets and doorstep requests: how long open
    age = SelectField(_l("Age"), validators=[Optional()], validate_choice=False)
    # helpdesk: only those past their deadline
    overdue = SelectField(_l("Deadline"), validators=[Optional()], validate_choice=False)


class InboxBulkForm(FlaskForm):
    """One action on the cases selected in a view (checkboxes `selected`: "REF@version")."""

    view = HiddenField()
    selected = SelectMultipleField(coerce=str, validate_choice=False)
    action = SelectField(_l("Action on the selected cases"), coerce=str, validate_choice=False,
                         validators=[DataRequired(message=_l("Please choose an action."))])
    text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    office = SelectField(_l("Office (for a transfer)"), coerce=str, validate_choice=False,
                         validators=[Optional()])
