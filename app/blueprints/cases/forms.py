"""Forms shared by every kind's case page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

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
    """GET form: search and filters of a queue (no CSRF needed for a read)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[digits], validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=False)
    kind = SelectField(_l("Kind"), validators=[Optional()], validate_choice=False)
