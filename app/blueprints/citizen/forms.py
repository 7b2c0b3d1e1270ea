"""Forms of the doorstep service request pages. Messages are translated and shown
next to their field; the htmx check of a single field runs the same validators."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from app.inputs import MaxLength, digits
from app.services.front_doors import citizen


def _strip(value):
    return value.strip() if isinstance(value, str) else value


_digits = digits  # Persian, Arabic-Indic and Devanagari digits → 0-9 (app.inputs)


class ServiceRequestForm(FlaskForm):
    """Name, address, pincode, e-mail, mobile and type of service (seed 001, 2c)."""

    name = StringField(_l("Name"), filters=[_strip], validators=[
        DataRequired(message=_l("Please enter your name.")),
        Length(max=120, message=_l("Please shorten the name to at most 120 characters."))])
    address = TextAreaField(_l("Address"), filters=[_strip], validators=[
        DataRequired(message=_l("Please enter the address where we should come.")),
        Length(max=500, message=_l("Please shorten the address to at most 500 characters."))])
    pincode = StringField(_l("Pincode"), filters=[_digits], validators=[
        DataRequired(message=_l("Please enter the 6-digit pincode.")),
        Regexp(r"^\d{6}$", message=_l("A pincode has exactly 6 digits."))])
    email = EmailField(_l("E-mail"), filters=[_strip], validators=[
        DataRequired(message=_l("Please enter your e-mail address.")),
        MaxLength(200),  # before Email(): its syntax check is quadratic in the length
        Email(message=_l("Please enter a valid e-mail address, like name@example.com."),
              granular_message=False, check_deliverability=False)])
    mobile = TelField(_l("Mobile number"), filters=[_digits], validators=[
        DataRequired(message=_l("Please enter your mobile number."))])
    service = SelectField(_l("Type of service"), validate_choice=False, validators=[
        DataRequired(message=_l("Please choose the service you need."))])
    details = TextAreaField(_l("Anything we should know (optional)"), filters=[_strip], validators=[
        Optional(), Length(max=1000, message=_l("Please shorten this to at most 1000 characters."))])
    submission_key = HiddenField(label="")  # a label would load WTForms' catalogue per request

    def set_choices(self) -> None:
        self.service.choices = citizen.service_choices()

    def validate_pincode(self, field):
        if field.data and len(field.data) == 6 and citizen.lookup_pincode(field.data) is None:
            raise ValidationError(_l("We do not know this pincode. Please check it."))

    def validate_mobile(self, field):
        if field.data and citizen.normalize_mobile(field.data) is None:
            raise ValidationError(_l("Please enter a valid 10-digit Indian mobile number."))

    def validate_service(self, field):
        if field.data and citizen.service_type(field.data) is None:
            raise ValidationError(_l("Please choose the service you need."))


class TrackReferenceForm(FlaskForm):
    """GET form: the reference number printed on the confirmation."""

    class Meta:
        csrf = False

    reference = StringField(_l("Reference number"), filters=[_digits], validators=[
        DataRequired(message=_l("Please enter your reference number.")), Length(max=30)])


class TrackMobileForm(FlaskForm):
    mobile = TelField(_l("Mobile number"), filters=[_digits], validators=[
        DataRequired(message=_l("Please enter your mobile number."))])

    def validate_mobile(self, field):
        if field.data and citizen.normalize_mobile(field.data) is None:
            raise ValidationError(_l("Please enter a valid 10-digit Indian mobile number."))


class OtpForm(FlaskForm):
    code = StringField(_l("One-time code"), filters=[_digits], validators=[
        DataRequired(message=_l("Please enter the code we sent you.")),
        Regexp(r"^\d{6}$", message=_l("The code has 6 digits."))])




class RateForm(FlaskForm):
    """The citizen's rating of a closed request (after proving the mobile)."""

    rating = RadioField(_l("How was the service?"), choices=[("5", _l("Excellent")), ("4", _l("Good")),
                                                         ("3", _l("Fair")), ("2", _l("Poor")),
                                                         ("1", _l("Very poor"))],
                        validators=[DataRequired(message=_l("Please choose a rating."))])
    comment = TextAreaField(_l("Comment (optional)"), filters=[_strip], validators=[Optional(), Length(max=1000)])
