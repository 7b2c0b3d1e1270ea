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
    # A kind's own inputs of an action (`CaseKind.action_fields`), checked by the service
    # (`app.services.case_actions`): a helpdesk ticket's classification, the survey of an
    # interaction, a doorstep request's internal remarks.
    category = StringField(validators=[Optional(), Length(max=12)])
    classification = StringField(validators=[Optional(), Length(max=40)])
    priority = StringField(validators=[Optional(), Length(max=4)])
    rating = StringField(validators=[Optional(), Length(max=2)])
    comment = TextAreaField(validators=[Optional(), Length(max=2000)])
    remarks = TextAreaField(validators=[Optional(), Length(max=2000)])

    KIND_INPUTS = ("category", "classification", "priority", "rating", "comment", "remarks")

    def inputs(self) -> dict:
        return {name: getattr(self, name).data for name in self.KIND_INPUTS}


class QueueFilterForm(FlaskForm):
    """GET form: search and filters of a queue (no CSRF needed for a read)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[digits], validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=False)
    kind = SelectField(_l("Kind"), validators=[Optional()], validate_choice=False)
