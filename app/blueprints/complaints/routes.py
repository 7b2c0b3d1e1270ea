"""Customer complaints, staff side: registration at the counter ("Complaint Processing"
and its queues are views of the inbox, `app.services.read_models.views`), reports & analytics, closure quality review. The public
registration page is `public_bp`. Complaints open on the shared case page."""

import secrets
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.auth.decorators import role_required
from app.blueprints.cases.inbox import moved
from app.blueprints.complaints.forms import ComplaintForm, ReportFilterForm, ReviewForm
from app.domain import workflow as wf
from app.domain.errors import WorkflowError
from app.exports import download
from app.extensions import limiter
from app.htmx import render_page_or_partial
from app.i18n import error_message
from app.inputs import as_id
from app.nav import add_public_link, add_staff_link
from app.services.engine import access
from app.services.front_doors import complaint_reviews, complaints, intake
from app.services.infrastructure import tokens, uploads
from app.services.read_models import complaint_reports

bp = Blueprint("complaints", __name__)
public_bp = Blueprint("complaint_public", __name__)

STAFF = ("operator", "supervisor", "admin", "monitor")
MAX_FILES = 3

add_staff_link("complaints.register", _l("Complaint Registration"),
               visible=lambda u: u.has_role("operator", "supervisor"), order=21)
add_staff_link("complaints.reports", _l("Reports & Analytics"),
               visible=lambda u: u.has_role(*STAFF), order=22)
add_staff_link("complaints.reviews", _l("Closure review"),
               visible=lambda u: u.has_role("supervisor", "admin"), order=23)
add_public_link("complaint_public.register", _l("Register a complaint"),
                _l("Tell us about a delayed, lost or damaged article, a money order, your account, "
                   "insurance or staff behaviour."), order=20)


def _now() -> datetime:
    return datetime.utcnow()


# ---- registration (shared by the counter and the public page) ------------------------

def fill_choices(form: ComplaintForm) -> None:
    """Category → service → type choices for what is chosen so far; a choice that does
    not belong under its parent is cleared."""
    choose = [("", _("Choose…"))]

    def pick(field, rows):
        field.choices = choose + [(str(c.id), c.label()) for c in rows]
        ids = {str(c.id) for c in rows}
        if (field.data or "") not in ids:
            field.data = ""
        return as_id(field.data)

    cat_id = pick(form.category, complaints.categories("category"))
    svc_id = pick(form.service, complaints.categories("service", cat_id) if cat_id else [])
    pick(form.type, complaints.categories("type", svc_id) if svc_id else [])


def _read_uploads(form: ComplaintForm) -> list:
    """Read and check every file; errors go next to the field, naming the file."""
    files = [f for f in request.files.getlist(form.attachments.name) if getattr(f, "filename", "")]
    if len(files) > MAX_FILES:
        form.attachments.errors = [_("Attach at most %(n)s files.", n=MAX_FILES)]
        return []
    read, errors = [], []
    for fs in files:
        item, error = uploads.read_checked(fs)
        if error:
            shown = fs.filename.replace("\\", "/").rsplit("/", 1)[-1][:80]
            errors.append(f"{shown}: {error}")
        elif item is not None:
            read.append(item)
    form.attachments.errors = errors
    return read


def check_registration(form: ComplaintForm, actor) -> tuple:
    """The checks beyond the form's own validators (shared with the JSON API): a
    consistent category → service → type, the office for the pincode (public) and the
    earlier complaint referred to. Errors go on the form's fields; returns
    (type_row, office, related), any of them None when not found."""
    type_row = None
    if form.type.data:
        type_row = complaints.valid_type(as_id(form.category.data), as_id(form.service.data),
                                         as_id(form.type.data))
        if type_row is None:
            form.type.errors = list(form.type.errors) + [_("Choose the type of grievance.")]
    office = actor.office if actor is not None else None
    if actor is None and form.pincode.data and not form.pincode.errors:
        office = complaints.office_for_pincode(form.pincode.data)
        if office is None:
            form.pincode.errors = list(form.pincode.errors) + [
                _("This pincode is not in our directory. Check it, or visit your post office.")]
    related = None
    if form.related.data:
        related = complaints.find_related(form.related.data, form.mobile.data or "", actor)
        if related is None:
            form.related.errors = list(form.related.errors) + [
                _("No complaint with this reference was found for this mobile number.")]
        elif not related.is_closed:
            form.related.errors = list(form.related.errors) + [
                _("That complaint is still being handled; you will hear from us on it. "
                  "A new complaint can refer only to a closed one.")]
    return type_row, office, related


def handle_registration(form: ComplaintForm, *, actor, page: str):
    """Validate and register; returns (case, None) or (None, response)."""
    fill_choices(form)
    if request.method == "GET":
        form.submission_key.data = secrets.token_hex(16)
        return None, render_template(page, form=form)
    if request.form.get("refresh"):
        # Without JavaScript: reload the dependent choices, keep what was typed.
        return None, render_template(page, form=form, refreshed=True)
    ok = form.validate()
    form.attachments.errors = list(form.attachments.errors)
    files = _read_uploads(form)
    type_row, office, related = check_registration(form, actor)
    if not ok or form.attachments.errors or type_row is None or office is None or form.related.errors:
        return None, (render_template(page, form=form), 422)
    if not request.form.get(intake.CONFIRM_FIELD) and related is None:
        # Repeats at intake (issue 27): the open complaints of this mobile or e-mail about the
        # same service, shown before it is registered again.
        earlier = intake.open_cases(mobile=form.mobile.data, email=form.email.data, category=type_row,
                                    submission_key=form.submission_key.data or None)
        if earlier:
            return None, render_template(page, form=form, earlier=earlier, staff=actor is not None)
    from app.i18n import current_locale

    case = complaints.register(
        requester={"name": form.name.data, "mobile": form.mobile.data, "email": form.email.data or None,
                   "address": form.address.data or None, "pincode": form.pincode.data,
                   "locale": current_locale()},
        type_row=type_row, description=form.description.data, now=_now(), office=office,
        actor=actor, article=form.article.data or "", related=related, uploads=files,
        channel="counter" if actor is not None else "web",
        submission_key=form.submission_key.data or None)
    return case, None


@bp.route("/new", methods=["GET", "POST"])
@role_required("operator", "supervisor")
def register():
    """Complaint Registration: an operator registers a complaint for a customer at the
    counter; it enters the operator's office queue."""
    form = ComplaintForm()
    case, resp = handle_registration(form, actor=current_user, page="complaints/register.html")
    if resp is not None:
        return resp
    flash(_("Complaint registered with reference %(ref)s. The customer has been sent the "
            "reference by SMS and e-mail.", ref=case.reference), "success")
    return redirect(url_for("cases.detail", reference=case.reference), code=303)


@public_bp.route("/new", methods=["GET", "POST"], endpoint="register")
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])
def public_register():
    """Public complaint registration: routed to the post office serving the pincode."""
    form = ComplaintForm()
    case, resp = handle_registration(form, actor=None, page="complaints/public_register.html")
    if resp is not None:
        return resp
    flash(_("Your complaint is registered with reference %(ref)s. We have sent it to you by "
            "SMS and e-mail. Keep this page's address to follow it.", ref=case.reference), "success")
    token = tokens.make_case_token(case, "respond")
    return redirect(url_for("respond.respond", token=token), code=303)


@public_bp.route("/choices")
def choices():
    """The category → service → type selects for what is chosen so far (htmx partial;
    the no-JS path is the form's "Update choices" button)."""
    form = ComplaintForm(formdata=request.args, meta={"csrf": False})
    fill_choices(form)
    return render_template("complaints/_category_fields.html", form=form)


# ---- processing ---------------------------------------------------------------------

@bp.route("/")
def processing():
    """Complaint Processing and its queues: now views of the inbox ("Pending for
    Resolution" and "Pending at External Authorities" have their own; the others are
    Complaint Processing's queue filter)."""
    key = request.args.get("queue", "")
    own = {"pending": "complaints-pending", "external": "complaints-external"}
    if key in own:
        return moved(own[key], queue=None)
    return moved("complaints", queue=key if key in complaints.QUEUE_KEYS else None)


# ---- reports -----------------------------------------------------------------------

@bp.route("/reports")
@role_required(*STAFF)
def reports():
    """Reports & analytics over the user's jurisdiction, with CSV export."""
    form = ReportFilterForm(request.args)
    form.validate()
    start, end = form.start.data, form.end.data
    tables = complaint_reports.all_reports(current_user, _now(), start, end)
    return render_page_or_partial("complaints/reports.html", "complaints/_reports.html",
                                  tables=tables, form=form,
                                  subtree=access.has_subtree_scope(current_user))


@bp.route("/reports/<name>.csv")
@role_required(*STAFF)
def report_csv(name):
    """One report as CSV (same scope and filters as the page)."""
    fn = complaint_reports.REPORTS.get(name)
    if fn is None:
        abort(404)
    form = ReportFilterForm(request.args)
    form.validate()
    table = fn(current_user, _now(), form.start.data, form.end.data)
    return download(complaint_reports.to_csv(table), f"complaints-{name}.csv", "text/csv")


# ---- closure quality review -----------------------------------------------------------

@bp.route("/reviews")
@role_required("supervisor", "admin")
def reviews():
    """A random sample of closed complaints of the subtree to review, and recent reviews."""
    return render_template("complaints/reviews.html", sample=complaint_reviews.sample(current_user),
                           recent=complaint_reviews.recent(current_user), form=ReviewForm())


@bp.route("/reviews/<reference>", methods=["GET", "POST"])
@role_required("supervisor", "admin")
def review(reference):
    """Mark one closed complaint's closure good or poor (poor opens a follow-up)."""
    case = access.get_case_for(current_user, reference)
    if case is None or case.kind != wf.COMPLAINT or not access.in_jurisdiction(current_user, case):
        abort(404)
    existing = complaint_reviews.review_of(case)
    form = ReviewForm()
    error = None
    if request.method == "POST" and existing is None and form.validate():
        try:
            rev = complaint_reviews.record(current_user, case, form.verdict.data, form.remark.data or "",
                                           _now())
        except WorkflowError as exc:
            if getattr(exc, "info", {}).get("field") == "remark":
                form.remark.errors = [_("Say what was poor about the closure.")]
            else:
                error = error_message(exc)
        else:
            if rev.follow_up is not None:
                flash(_("Recorded. Follow-up complaint %(ref)s opened.", ref=rev.follow_up.reference),
                      "success")
                return redirect(url_for("cases.detail", reference=rev.follow_up.reference), code=303)
            flash(_("Review recorded."), "success")
            return redirect(url_for("complaints.reviews"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("complaints/review.html", case=case, form=form, existing=existing,
                           error=error), status


# ---- extras on the shared case page ---------------------------------------------------

@bp.app_template_global("complaint_extras")
def complaint_extras(case):
    """What the complaint page adds to the shared case page: escalation trail, the two
    clocks, the complaints that refer to this one and its closure review."""
    now = _now()
    return {
        "trail": complaints.escalation_trail(case),
        "clocks": complaints.clocks(case, now),
        "follow_ups": [c for c in complaints.follow_ups(case) if access.can_view(current_user, c)],
        "review": complaint_reviews.review_of(case),
        "now": now,
        "upload_kb": current_app.config["UPLOAD_MAX_BYTES"] // 1024,
    }


@bp.app_template_filter("duration")
def duration(seconds):
    """Days/hours/minutes in the reader's language."""
    from app.i18n import format_number

    d, h, m = complaints.duration_parts(seconds)
    if d:
        return _("%(d)s d %(h)s h", d=format_number(d), h=format_number(h))
    if h:
        return _("%(h)s h %(m)s min", h=format_number(h), m=format_number(m))
    return _("%(m)s min", m=format_number(m))

