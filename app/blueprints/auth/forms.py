"""Sign-in and password forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.inputs import digits


class LoginForm(FlaskForm):
    login_id = StringField(_l("Employee ID or Facility ID"), filters=[digits], validators=[DataRequired(), Length(max=20)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )

    def validate_new(self, field):
        value = field.data or ""
        if value.isdigit() or value.isalpha() or value.lower() == value.upper() and value.isalnum():
            raise ValidationError(_l("Use letters together with digits or symbols."))
        if self.current.data and value == self.current.data:
            raise ValidationError(_l("The new password must differ from the current one."))


class PreferencesForm(FlaskForm):
    weekly_summary = BooleanField(_l("Send me the weekly monitoring summary by e-mail"))
