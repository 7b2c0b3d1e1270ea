"""Forms of the helpdesk desk (seed 002)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.inputs import digits

REQUIRED = _l("Please fill in this field.")

CHANNEL_LABELS = {
    "phone": _l("By phone"),
    "email": _l("By e-mail"),
    "walk_in": _l("Walk-in visit"),
}

CLASSIFICATION_LABELS = {
    "problem": _l("Problem"),
    "incident": _l("Incident"),
    "change_request": _l("Change request"),
    "bug_fix": _l("Bug Fixes"),
}


class LogCallForm(FlaskForm):
    """L1 operator: log a caller's issue (seed 002, "SOP for ticket triaging")."""

    channel = SelectField(_l("How the caller reached us"), default="phone",
                          choices=list(CHANNEL_LABELS.items()),
                          validators=[DataRequired(message=REQUIRED)])
    caller_name = StringField(_l("Caller's name"),
                              validators=[DataRequired(message=REQUIRED), Length(max=120)])
    caller_mobile = StringField(_l("Caller's mobile number"), filters=[digits], validators=[
        Optional(), Regexp(r"^[6-9][0-9]{9}$", message=_l("Enter a 10-digit mobile number."))])
    caller_email = StringField(_l("Caller's e-mail"), validators=[
        Optional(), Length(max=200),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter a valid e-mail address."))])
    category = SelectField(_l("Issue category (decides the escalation path)"),
                           validators=[DataRequired(message=REQUIRED)], validate_choice=False)
    classification = SelectField(_l("Classification"), choices=list(CLASSIFICATION_LABELS.items()),
                                 validators=[DataRequired(message=REQUIRED)])
    priority = SelectField(_l("Severity / priority"), default="P3",
                           validators=[DataRequired(message=REQUIRED)])
    subject = StringField(_l("Summary of the issue"),
                          validators=[DataRequired(message=REQUIRED), Length(max=200)])
    description = TextAreaField(_l("What the caller reports"),
                                validators=[DataRequired(message=REQUIRED), Length(max=5000)])
    diagnosis = TextAreaField(_l("Diagnosis by the helpdesk (L1)"),
                              validators=[Optional(), Length(max=5000)])
    fix = TextAreaField(_l("Resolved on the call: the fix given to the caller"),
                        validators=[Optional(), Length(max=5000)])
    submission_key = HiddenField()

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not (self.caller_mobile.data or "").strip() and not (self.caller_email.data or "").strip():
            self.caller_mobile.errors = list(self.caller_mobile.errors) + [
                _l("Give the caller's mobile number or e-mail so that replies reach them.")]
            ok = False
        return ok


