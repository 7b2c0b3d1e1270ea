"""Admin forms (Flask-WTF, translated labels)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from app.i18n import OFFICE_KIND_LABELS, ROLE_LABELS
from app.inputs import MaxLength, digits


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def kind_choices():
    from app.services.administration.admin_offices import CREATABLE_KINDS

    return [(k, OFFICE_KIND_LABELS[k]) for k in CREATABLE_KINDS]


class OfficeForm(FlaskForm):
    code = StringField(_l("Code"), filters=[digits], validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_hi = StringField(_l("Name in Hindi"), validators=[Optional(), Length(max=200)])
    name_fa = StringField(_l("Name in Persian"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Kind of office"), choices=kind_choices, validators=[DataRequired()])
    parent_code = StringField(_l("Parent office code"), filters=[digits], validators=[DataRequired(), Length(max=32)])


class RenameForm(FlaskForm):
    name = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_hi = StringField(_l("Name in Hindi"), validators=[Optional(), Length(max=200)])
    name_fa = StringField(_l("Name in Persian"), validators=[Optional(), Length(max=200)])


class OfficeEmailForm(FlaskForm):
    email = EmailField(_l("Office e-mail address"), filters=[lambda v: (v or "").strip()],
                       validators=[Optional(), MaxLength(200),
                                   Email(message=_l("Enter a valid e-mail address."))])


class MoveForm(FlaskForm):
    parent_code = StringField(_l("New parent office code"), filters=[digits], validators=[DataRequired(), Length(max=32)])


class ConfirmForm(FlaskForm):
    """A POST with only the CSRF token (deactivate, delete, reset, retry)."""


class UserForm(FlaskForm):
    login_id = StringField(_l("Employee ID or Facility ID"), filters=[digits], validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail"), validators=[Optional(), MaxLength(200),  # before the quadratic Email()
                                                 Email(message=_l("Enter a valid e-mail address."))])
    mobile = StringField(_l("Mobile"), filters=[digits], validators=[Optional(), Regexp(r"^[6-9][0-9]{9}$", message=_l(
        "Enter a 10-digit mobile number.")), Length(max=20)])
    # The office picker's search box (name or code); the office itself is the radio
    # button `office_id` chosen among the matches (admin/_office_picker.html). An exact
    # code typed here is taken as it is.
    office_code = StringField(_l("Office"), filters=[digits], validators=[Optional(), Length(max=200)])
    roles = MultiCheckboxField(_l("Roles"), choices=lambda: list(ROLE_LABELS.items()),
                               validators=[DataRequired(message=_l("Choose at least one role."))])


class UserEditForm(UserForm):
    login_id = None


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a CSV file."))])
    dry_run = BooleanField(_l("Dry run: check only, change nothing"), default=True)


class CategoryForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[], validators=[DataRequired()])
    level = SelectField(_l("Level"), choices=[], validators=[DataRequired()])
    code = StringField(_l("Code"), filters=[digits], validators=[DataRequired(), Length(max=40)])
    parent_id = SelectField(_l("Parent"), choices=[], validate_choice=False)
    department_id = SelectField(_l("Department (subjects)"), choices=[], validate_choice=False)
    route_to_id = SelectField(_l("Escalation path: the team a helpdesk ticket goes to when L1 cannot resolve it"),
                              choices=[], validate_choice=False)
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=160)])
    name_hi = StringField(_l("Name in Hindi"), validators=[Optional(), Length(max=160)])
    name_fa = StringField(_l("Name in Persian"), validators=[Optional(), Length(max=160)])
    sort_order = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange(min=0, max=9999)])
    active = BooleanField(_l("Active"), default=True)


class PincodeForm(FlaskForm):
    pincode = StringField(_l("Pincode"), filters=[digits], validators=[DataRequired(), Regexp(r"^[1-9][0-9]{5}$", message=_l(
        "A pincode has six digits and does not start with 0."))])
    office_name = StringField(_l("Post office"), validators=[DataRequired(), Length(max=120)])
    district = StringField(_l("District"), validators=[Optional(), Length(max=80)])
    state = StringField(_l("State"), validators=[Optional(), Length(max=80)])
    division_code = StringField(_l("Division code"), filters=[digits], validators=[DataRequired(), Length(max=32)])


class HolidayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Enter a date."))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])


class LoadHolidaysForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])


class TemplateForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[DataRequired()])


class ExternalForm(FlaskForm):
    code = StringField(_l("Code"), filters=[digits], validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_hi = StringField(_l("Name in Hindi"), validators=[Optional(), Length(max=200)])
    name_fa = StringField(_l("Name in Persian"), validators=[Optional(), Length(max=200)])
