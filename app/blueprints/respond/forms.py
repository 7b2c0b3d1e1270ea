"""The requester's answer through a signed link."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class RespondForm(FlaskForm):
    """One requester action (accept, reject, clarify, provide information, rate)."""

    action = HiddenField(validators=[DataRequired()])
    version = HiddenField()
    text = TextAreaField(_l("Your message"), validators=[Optional(), Length(max=5000)])
    rating = RadioField(_l("Your rating"), coerce=str, validate_choice=False, validators=[Optional()],
                        choices=[("5", _l("5 – Excellent")), ("4", _l("4 – Good")), ("3", _l("3 – Fair")),
                                 ("2", _l("2 – Poor")), ("1", _l("1 – Very poor"))])
    attachment = FileField(_l("Attachment (JPEG or PDF)"))
