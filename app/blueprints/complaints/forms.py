"""Complaint forms: registration (counter and public), bulk processing, reviews."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from app.dates import LocalDateField
from app.inputs import MaxLength, digits

REQUIRED = _l("Please fill in this field.")


class ComplaintForm(FlaskForm):
    """A customer's complaint. Category → service → type are dependent choices filled
    in by the view (htmx reloads them; without JavaScript the "Update choices" button
    does)."""

    name = StringField(_l("Customer name"), validators=[DataRequired(REQUIRED), Length(max=120)])
    mobile = StringField(_l("Mobile number"), filters=[digits], validators=[
        DataRequired(REQUIRED),
        Regexp(r"^[6-9]\d{9}$", message=_l("Enter a 10-digit Indian mobile number."))])
    email = StringField(_l("E-mail"), validators=[
        Optional(), MaxLength(200), Email(message=_l("Enter a valid e-mail address."))])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=500)])
    pincode = StringField(_l("Pincode"), filters=[digits], validators=[
        DataRequired(REQUIRED), Regexp(r"^\d{6}$", message=_l("Enter a 6-digit pincode."))])
    category = SelectField(_l("Category"), coerce=str, validate_choice=False,
                           validators=[DataRequired(_l("Choose a category."))])
    service = SelectField(_l("Service"), coerce=str, validate_choice=False,
                          validators=[DataRequired(_l("Choose a service."))])
    type = SelectField(_l("Type of grievance"), coerce=str, validate_choice=False,
                       validators=[DataRequired(_l("Choose the type of grievance."))])
    article = StringField(_l("Article or transaction reference"), filters=[digits], validators=[Optional(), Length(max=40)])
    description = TextAreaField(_l("Description of the complaint"), validators=[
        DataRequired(REQUIRED), Length(min=10, max=5000, message=_l(
            "Describe the complaint in %(min)d to %(max)d characters."))])
    related = StringField(_l("Earlier complaint reference (if this follows a closed one)"),
                          filters=[digits], validators=[Optional(), Length(max=24)])
    attachments = MultipleFileField(_l("Attachments (JPEG or PDF)"))
    submission_key = HiddenField()


class ReportFilterForm(FlaskForm):
    class Meta:
        csrf = False

    start = LocalDateField(_l("From"), validators=[Optional()])
    end = LocalDateField(_l("To"), validators=[Optional()])


class ReviewForm(FlaskForm):
    verdict = RadioField(_l("Quality of the closure"), coerce=str,
                         choices=[("good", _l("Good")), ("poor", _l("Poor"))],
                         validators=[DataRequired(_l("Choose good or poor."))])
    remark = TextAreaField(_l("Remark"), validators=[Optional(), Length(max=2000)])
