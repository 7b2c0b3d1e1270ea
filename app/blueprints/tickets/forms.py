"""Forms of the office-ticket pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


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
