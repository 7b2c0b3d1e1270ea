"""Forms shared by every kind's case page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.dates import LocalDateField
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
    # (`app.services.engine.case_actions`): a helpdesk ticket's classification, the survey of an
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
    """GET form: search and filters of an inbox view (no CSRF needed for a read). Every
    view has search, status (and kind where it spans kinds); a view's extra filters
    (`app.services.read_models.views.View.extras`) are added by `filter_form(extras)`."""

    class Meta:
        csrf = False

    # Hidden fields get an explicit empty label: without one WTForms translates a label
    # made from the name, which loads Flask-WTF's catalogue on every request.
    view = HiddenField(label="")
    q = StringField(_l("Search"), filters=[digits], validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=False)
    kind = SelectField(_l("Kind"), validators=[Optional()], validate_choice=False)


def _select(label):
    return lambda: SelectField(label, validators=[Optional()], validate_choice=False)


# The extra filters a view may have, by name (the name is the query string's).
EXTRA_FIELDS = {
    "level": _select(_l("Level")),  # office tickets
    "category": _select(_l("Category")),
    "queue": _select(_l("Queue")),  # complaints: one of Complaint Processing's queues
    "service": _select(_l("Type of service")),  # doorstep requests
    "date_from": lambda: LocalDateField(_l("Raised from"), validators=[Optional()]),
    "date_to": lambda: LocalDateField(_l("Raised until"), validators=[Optional()]),
    "division": lambda: HiddenField(label=""),
    "age": _select(_l("Age")),  # tickets and doorstep requests: how long open
    "overdue": _select(_l("Deadline")),  # helpdesk: only those past their deadline
}
_FORMS: dict[tuple, type] = {}


def filter_form(extras: tuple) -> type:
    """The filter form class of a view with these extra filters (built once per set: a
    form binds every field it has on each request)."""
    cls = _FORMS.get(extras)
    if cls is None:
        cls = _FORMS[extras] = type("ViewFilterForm", (QueueFilterForm,),
                                    {name: EXTRA_FIELDS[name]() for name in extras})
    return cls


class InboxBulkForm(FlaskForm):
    """One action on the cases selected in a view (checkboxes `selected`: "REF@version")."""

    view = HiddenField(label="")
    selected = SelectMultipleField(label="", coerce=str, validate_choice=False)
    action = SelectField(_l("Action on the selected cases"), coerce=str, validate_choice=False,
                         validators=[DataRequired(message=_l("Please choose an action."))])
    text = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    office = SelectField(_l("Office (for a transfer)"), coerce=str, validate_choice=False,
                         validators=[Optional()])
