"""Forms of the office-ticket pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.inputs import digits


class TicketForm(FlaskForm):
    """Add Ticket: one problem of the DARPAN field application."""

    subject = StringField(_l("Subject"), validators=[
        DataRequired(message=_l("Please enter a subject.")),
        Length(min=5, max=200, message=_l("The subject must be between %(min)d and %(max)d characters long.")),
    ])
    category = SelectField(_l("Category"), coerce=str, validators=[
        DataRequired(message=_l("Please choose a category."))])
    description = TextAreaField(_l("Description"), validators=[
        DataRequired(message=_l("Please describe the problem.")),
        Length(max=5000, message=_l("The description may have at most %(max)d characters.")),
    ])
    attachment = FileField(_l("Attachment (JPEG or PDF, optional)"))
    confirm_scope = BooleanField(_l("My problem is with the DARPAN application all the same"))
    submission_key = HiddenField()

    def validate_category(self, field):
        from wtforms.validators import ValidationError

        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Please choose a category."))


class TicketFilterForm(FlaskForm):
    """GET form of a ticket queue: search, filters and sorting (a read: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[digits], validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=False)
    level = SelectField(_l("Level"), validators=[Optional()], validate_choice=False)
    age = SelectField(_l("Age"), validators=[Optional()], validate_choice=False)
    category = SelectField(_l("Category"), validators=[Optional()], validate_choice=False)
    sort = SelectField(_l("Sort by"), validators=[Optional()], validate_choice=False)


class BulkForm(FlaskForm):
    """One action on several selected tickets (the checkboxes are named `selected`)."""

    action = SelectField(_l("Action on the selected tickets"), coerce=str, validate_choice=False,
                         validators=[DataRequired(message=_l("Please choose an action."))])
    text = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Please give a reason.")),
        Length(max=5000, message=_l("The reason may have at most %(max)d characters.")),
    ])
