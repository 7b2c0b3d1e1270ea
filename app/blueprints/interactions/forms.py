"""Forms of the staff interaction pages (labels follow seed 004)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.inputs import digits

REQUIRED = _l("Please fill in this field.")

REQUEST_TYPE_LABELS = {
    "request": _l("General request"),
    "question": _l("Question"),
    "problem": _l("Problem report"),
    "suggestion": _l("Suggestion"),
}

RATING_LABELS = {
    1: _l("Very dissatisfied"),
    2: _l("Dissatisfied"),
    3: _l("Neither satisfied nor dissatisfied"),
    4: _l("Satisfied"),
    5: _l("Very satisfied"),
}


class NewInteractionForm(FlaskForm):
    """«ثبت جدید»: to a department (department, then subject) or to a colleague
    (recipient, request type, priority); description; optional document."""

    addressed_to = RadioField(_l("Send the request to"), default="department",
                              choices=[("department", _l("A department")),
                                       ("colleague", _l("A colleague"))],
                              validators=[DataRequired(message=REQUIRED)])
    department = SelectField(_l("Department (unit)"), validators=[Optional()], validate_choice=False)
    subject = SelectField(_l("Request subject"), validators=[Optional()], validate_choice=False)
    recipient_q = StringField(_l("Recipient"), filters=[digits], validators=[Optional(), Length(max=100)])
    recipient = StringField(filters=[digits], validators=[Optional(), Length(max=12)])
    request_type = SelectField(_l("Request type"), default="request", validators=[Optional()],
                               choices=list(REQUEST_TYPE_LABELS.items()))
    priority = SelectField(_l("Request priority"), default="P3", validators=[Optional()])
    description = TextAreaField(_l("Description of the request"),
                                validators=[DataRequired(message=REQUIRED), Length(max=5000)])
    attachment = FileField(_l("Supporting document (JPEG or PDF, optional)"))
    submission_key = HiddenField()


