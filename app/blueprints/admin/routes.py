"""Administration pages (/admin). Thin views: parse, authorize, call an admin service,
render the page (or, for htmx, only the list partial the page includes)."""

from __future__ import annotations

import re
from datetime import MAXYEAR, MINYEAR, date, datetime
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.admin import forms as F
from app.blueprints.auth.decorators import role_required
from app.dates import format_input_date, parse_local_date
from app.domain import kinds
from app.domain import workflow as wf
from app.exports import download
from app.extensions import db
from app.htmx import hx_redirect, is_htmx, render_page_or_partial
from app.i18n import KIND_LABELS, OFFICE_KIND_LABELS, ROLE_LABELS
from app.inputs import as_id, ascii_digits, query_args, typed_number
from app.models import Category, Holiday, OrgUnit
from app.nav import add_staff_link
from app.services.administration import admin_audit as audits
from app.services.administration import admin_catalog as catalog
from app.services.administration import admin_offices as offices
from app.services.administration import admin_templates as templates
from app.services.administration import admin_users as users
from app.services.administration.admin_common import AdminError, OutOfScope, paginate
from app.services.engine import access
from app.services.infrastructure import audit
from app.services.infrastructure import auth as auth_service

bp = Blueprint("admin", __name__)

add_staff_link("admin.index", _l("Administration"), visible=access.is_admin, order=90)

# ---- guards ---------------------------------------------------------------------

GUARD_EXEMPT = {"auth.change_password", "auth.logout", "auth.login", "static", "main.set_language",
                "main.healthz", "main.favicon"}


@bp.before_app_request
def force_password_change():
    """A user who must change their password (new account, reset by an administrator)
    can use no other page until they do."""
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in GUARD_EXEMPT):
        target = url_for("auth.change_password")
        if is_htmx() and urlsplit(request.headers.get("HX-Current-URL", "")).path == target:
            # A badge or panel polling from the password page itself: answer nothing,
            # or the page would keep reloading itself.
            return make_response("", 204)
        flash(_("Please choose a new password before you continue."), "info")
        return hx_redirect(target)
    return None


admin_required = role_required("admin")


def national_required(view):
    """Administrators at the top office only (country-wide reference data)."""

    @wraps(view)
    @admin_required
    def wrapped(*args, **kwargs):
        if not access.is_national_admin(current_user):
            audit.record("denied", actor=current_user, target=f"admin.{view.__name__}")
            db.session.commit()
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _now() -> datetime:
    return datetime.utcnow()


def _out_of_scope():
    """Answer 404 (existence is not revealed) and keep a `denied` audit row."""
    audit.record("denied", actor=current_user, target=f"{request.endpoint}:{request.view_args}"[:80],
                 detail="outside jurisdiction")
    db.session.commit()
    abort(404)


def _scoped(fn, *args):
    """Call a `get_for` loader; out of scope answers 404."""
    try:
        return fn(current_user, *args)
    except OutOfScope:
        _out_of_scope()


def _refused(exc: AdminError, back: str):
    """Show a refused change as a message on the page it came from."""
    if isinstance(exc, OutOfScope):
        _out_of_scope()
    flash(str(exc.message), "error")
    if is_htmx():
        return hx_redirect(back)
    return redirect(back, code=303)


def _field_error(form, exc: AdminError, default: str) -> None:
    """Put a refused change's message next to the field it is about."""
    field = getattr(form, exc.field or "", None) or getattr(form, default)
    field.errors = list(field.errors) + [exc.message]


def _form_page(form, title, action, submit, status=200, **ctx):
    return render_template("admin/form.html", form=form, title=title, action=action,
                           submit=submit, **ctx), status


def _status(form) -> int:
    return 422 if request.method == "POST" else 200


def _page(q):
    return paginate(q, request.args.get("page"))


@bp.app_template_global()
def list_args(*names):
    """The named list filters of the query string, to carry into a link. Never
    `url_for(..., **request.args)`: a `?_method=` or `?_scheme=` (or a path variable's
    name) in the query would reach url_for's own parameters and end in a 500."""
    return {k: request.args[k] for k in names if request.args.get(k)}


@bp.app_template_global()
def admin_page_url(page: int) -> str:
    """This list's URL at `page`, keeping its filters (but none of url_for's own
    `_anchor`/`_method`/`_scheme`/`_external`, nor a path variable's name)."""
    return url_for(request.endpoint, **(request.view_args or {}), **query_args(page=page))


# ---- home -----------------------------------------------------------------------

@bp.route("/")
@admin_required
def index():
    """The administration home: the sections this administrator may use."""
    return render_template("admin/index.html", national=access.is_national_admin(current_user))


# ---- offices --------------------------------------------------------------------

@bp.route("/offices")
@admin_required
def offices_list():
    """Offices of the administrator's subtree, searchable and paginated."""
    args = request.args
    q = offices.search(current_user, args.get("q"), args.get("kind") or None, args.get("active"))
    return render_page_or_partial("admin/offices.html", "admin/_office_rows.html", listing=_page(q),
                                  kinds=OFFICE_KIND_LABELS)


@bp.route("/offices/new", methods=["GET", "POST"])
@admin_required
def office_new():
    """Create an office below one of the administrator's offices."""
    form = F.OfficeForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") or form.kind.data
        form.parent_code.data = request.args.get("parent") or current_user.office.code
    if form.validate_on_submit():
        try:
            unit = offices.create(current_user, code=form.code.data, name=form.name.data,
                                  kind=form.kind.data, parent=offices.by_code(form.parent_code.data),
                                  now=_now(), name_hi=form.name_hi.data, name_fa=form.name_fa.data)
        except AdminError as exc:
            _field_error(form, exc, "code")
        else:
            flash(_("Office %(code)s created.", code=unit.code), "success")
            return redirect(url_for("admin.office_detail", office_id=unit.id), code=303)
    return _form_page(form, _("New office"), url_for("admin.office_new"), _("Create office"),
                      status=_status(form), back=url_for("admin.offices_list"))


@bp.route("/offices/<id:office_id>")
@admin_required
def office_detail(office_id):
    """One office: usage, rename, move, deactivate or delete."""
    office = _scoped(offices.get_for, office_id)
    return render_template("admin/office.html", office=office, usage=offices.usage(office),
                           rename=F.RenameForm(obj=office), move=F.MoveForm(),
                           email_form=F.OfficeEmailForm(obj=office),
                           confirm=F.ConfirmForm(), own=office.id == current_user.office_id
                           or office.parent_id is None,
                           ancestors=office.ancestors())


def _office_change(office_id, fn, done_message, form_cls=F.ConfirmForm):
    office = _scoped(offices.get_for, office_id)
    back = url_for("admin.office_detail", office_id=office.id)
    form = form_cls()
    if not form.validate_on_submit():
        flash(_("Please fill in the form."), "error")
        return redirect(back, code=303)
    try:
        fn(office, form)
    except AdminError as exc:
        return _refused(exc, back)
    flash(done_message, "success")
    return hx_redirect(back)


@bp.route("/offices/<id:office_id>/rename", methods=["POST"])
@admin_required
def office_rename(office_id):
    return _office_change(office_id, lambda o, f: offices.rename(current_user, o, f.name.data, _now(),
                                                                     name_hi=f.name_hi.data,
                                                                     name_fa=f.name_fa.data),
                          _("The office has been renamed."), F.RenameForm)


@bp.route("/offices/<id:office_id>/email", methods=["POST"])
@admin_required
def office_email(office_id):
    return _office_change(office_id, lambda o, f: offices.set_email(current_user, o, f.email.data, _now()),
                          _("The office's e-mail address has been saved."), F.OfficeEmailForm)


@bp.route("/offices/<id:office_id>/move", methods=["POST"])
@admin_required
def office_move(office_id):
    return _office_change(
        office_id, lambda o, f: offices.move(current_user, o, offices.by_code(f.parent_code.data), _now()),
        _("The office has been moved with everything below it."), F.MoveForm)


@bp.route("/offices/<id:office_id>/deactivate", methods=["POST"])
@admin_required
def office_deactivate(office_id):
    return _office_change(office_id, lambda o, f: offices.set_active(current_user, o, False, _now()),
                          _("The office has been deactivated."))


@bp.route("/offices/<id:office_id>/activate", methods=["POST"])
@admin_required
def office_activate(office_id):
    return _office_change(office_id, lambda o, f: offices.set_active(current_user, o, True, _now()),
                          _("The office has been reactivated."))


@bp.route("/offices/<id:office_id>/delete", methods=["POST"])
@admin_required
def office_delete(office_id):
    office = _scoped(offices.get_for, office_id)
    back = url_for("admin.office_detail", office_id=office.id)
    if not F.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        offices.delete(current_user, office, _now())
    except AdminError as exc:
        return _refused(exc, back)
    flash(_("The office has been deleted."), "success")
    return hx_redirect(url_for("admin.offices_list"))


def _import(title, fn, sample, back):
    form = F.ImportForm()
    report, passwords = None, []
    status = _status(form) if request.method == "POST" else 200
    if form.validate_on_submit():
        data = form.file.data.read()
        result = fn(current_user, data, dry_run=bool(form.dry_run.data), now=_now())
        report, passwords = result if isinstance(result, tuple) else (result, [])
        status = 200 if report.ok else 422
    resp = make_response(render_template("admin/import.html", form=form, title=title, report=report,
                                         passwords=passwords, sample=sample, back=back), status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/offices/import", methods=["GET", "POST"])
@admin_required
def offices_import():
    """Create many offices from a CSV file (dry run first; all rows or none)."""
    return _import(_("Import offices"), offices.import_csv, "code,name,name_hi,name_fa,kind,parent_code\n"
                   "KA-NEW,New Division,नया मंडल,ناحیه جدید,division,KA-BHQ", url_for("admin.offices_list"))


# ---- external authorities -------------------------------------------------------

@bp.route("/externals", methods=["GET", "POST"])
@national_required
def externals():
    """External authorities (Customs, Air Cargo, ...): list and add."""
    form = F.ExternalForm()
    status = 200
    if form.validate_on_submit():
        try:
            unit = offices.create(current_user, code=form.code.data, name=form.name.data, kind="external",
                                  parent=current_user.office, now=_now(), name_hi=form.name_hi.data,
                                  name_fa=form.name_fa.data)
        except AdminError as exc:
            _field_error(form, exc, "code")
            status = 422
        else:
            flash(_("External authority %(name)s added.", name=unit.name), "success")
            return redirect(url_for("admin.externals"), code=303)
    elif request.method == "POST":
        status = 422
    q = offices.search(current_user, request.args.get("q"), "external")
    return render_page_or_partial("admin/externals.html", "admin/_office_rows.html", status=status,
                                  listing=_page(q), form=form, kinds=OFFICE_KIND_LABELS)


# ---- users ----------------------------------------------------------------------

@bp.route("/users")
@admin_required
def users_list():
    """Employees of the administrator's offices, searchable and paginated."""
    args = request.args
    q = users.search(current_user, args.get("q"), args.get("role") or None, args.get("active"))
    return render_page_or_partial("admin/users.html", "admin/_user_rows.html", listing=_page(q),
                                  roles=ROLE_LABELS)


def _password_page(user, password, created):
    """The one page that shows a temporary password: never cached, never in the session."""
    resp = make_response(render_template("admin/password.html", user=user, password=password,
                                         created=created))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _finding_office() -> bool:
    """The office picker's own button: search again, create or change nothing."""
    return request.method == "POST" and "find_office" in request.form


def _picked_office(form, selected: OrgUnit | None) -> OrgUnit | None:
    """The office a posted user form names: the radio button chosen if the search box
    is empty or still finds it, else an exact office code typed in the box. None (with
    an error beside the picker, every field kept) when the search names no one office."""
    text = (form.office_code.data or "").strip()
    if selected is not None and (not text or offices.matches(selected, text)):
        return selected
    if text:
        exact = offices.by_code(text)
        if exact is not None:
            return exact
    form.office_code.errors = list(form.office_code.errors) + [
        _("Choose the office from the list.") if text else _("Search for the office and choose it.")]
    return None


def _posted_office() -> OrgUnit | None:
    office_id = as_id(request.values.get("office_id"))
    return db.session.get(OrgUnit, office_id) if office_id is not None else None


def _picker(form, selected: OrgUnit | None) -> dict:
    """What the office picker shows: the matches of the search box, the choice first."""
    rows, total = offices.choices(current_user, form.office_code.data, selected)
    return {"rows": rows, "total": total, "selected_id": selected.id if selected else None,
            "limit": offices.PICKER_LIMIT}


@bp.route("/offices/choices")
@admin_required
def office_choices():
    """The office picker's matches for a search (the live search of the user forms)."""
    form = F.UserEditForm(formdata=request.args, meta={"csrf": False})
    return render_template("admin/_office_choices.html", picker=_picker(form, _posted_office()))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def user_new():
    """Create an employee; the temporary password is shown once."""
    form = F.UserForm()
    selected = _posted_office()
    status = 200
    if request.method == "POST" and not _finding_office():
        valid = form.validate_on_submit()
        office = _picked_office(form, selected)
        if valid and office is not None:
            try:
                user, password = users.create(
                    current_user, login_id=form.login_id.data, name=form.name.data,
                    office=office, roles=form.roles.data,
                    email=form.email.data, mobile=form.mobile.data, now=_now())
            except AdminError as exc:
                _field_error(form, exc, "login_id")
            else:
                return _password_page(user, password, created=True)
        selected = office or selected
        status = 422
    return _form_page(form, _("New employee"), url_for("admin.user_new"), _("Create employee"),
                      status=status, back=url_for("admin.users_list"), picker=_picker(form, selected))


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
@admin_required
def user_edit(user_id):
    """Edit an employee's name, contact, office and roles; deactivate; reset password."""
    user = _scoped(users.get_for, user_id)
    form = F.UserEditForm(obj=user if request.method == "GET" else None)
    selected = _posted_office() if request.method == "POST" else user.office
    status = 200
    if request.method == "GET":
        form.office_code.data = ""
        form.roles.data = sorted(user.roles)
    elif not _finding_office():
        valid = form.validate_on_submit()
        office = _picked_office(form, selected)
        if valid and office is not None:
            try:
                users.update(current_user, user, name=form.name.data, office=office,
                             roles=form.roles.data, email=form.email.data, mobile=form.mobile.data,
                             now=_now())
            except AdminError as exc:
                _field_error(form, exc, "office_code")
            else:
                flash(_("The employee has been updated."), "success")
                return redirect(url_for("admin.user_edit", user_id=user.id), code=303)
        selected = office or selected
        status = 422
    return render_template("admin/user.html", user=user, form=form, confirm=F.ConfirmForm(),
                           locks=auth_service.locked_networks(user.login_id, _now()),
                           picker=_picker(form, selected)), status


def _user_change(user_id, fn, message):
    user = _scoped(users.get_for, user_id)
    back = url_for("admin.user_edit", user_id=user.id)
    if not F.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        fn(user)
    except AdminError as exc:
        return _refused(exc, back)
    flash(message, "success")
    return hx_redirect(back)


@bp.route("/users/<id:user_id>/deactivate", methods=["POST"])
@admin_required
def user_deactivate(user_id):
    return _user_change(user_id, lambda u: users.set_active(current_user, u, False, _now()),
                        _("The employee has been deactivated and signed out everywhere."))


@bp.route("/users/<id:user_id>/activate", methods=["POST"])
@admin_required
def user_activate(user_id):
    return _user_change(user_id, lambda u: users.set_active(current_user, u, True, _now()),
                        _("The employee has been reactivated."))


@bp.route("/users/<id:user_id>/unlock", methods=["POST"])
@admin_required
def user_unlock(user_id):
    """Lift the sign-in locks left by failed attempts (the account's and every network's)."""
    return _user_change(user_id, lambda u: users.unlock(current_user, u, _now()),
                        _("Sign-in is unlocked for this employee."))


@bp.route("/users/<id:user_id>/reset-password", methods=["POST"])
@admin_required
def user_reset_password(user_id):
    """A new temporary password, shown once; the employee must change it at sign-in."""
    user = _scoped(users.get_for, user_id)
    if not F.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        password = users.reset_password(current_user, user, _now())
    except AdminError as exc:
        return _refused(exc, url_for("admin.user_edit", user_id=user.id))
    return _password_page(user, password, created=False)


@bp.route("/users/import", methods=["GET", "POST"])
@admin_required
def users_import():
    """Create many employees from CSV (dry run first; all rows or none)."""
    return _import(_("Import employees"), users.import_csv,
                   "login_id,name,office_code,roles,email,mobile\n"
                   "10009999,Anita Rao,KA-BGE,operator;supervisor,anita@example.in,9876543210",
                   url_for("admin.users_list"))


# ---- taxonomies -----------------------------------------------------------------

def _category_kinds() -> dict:
    """{kind: name} of the kinds with a catalogue (`CaseKind.catalog`)."""
    return {k: KIND_LABELS[k] for k in catalog.LEVELS}


LEVEL_LABELS = {"category": _l("Category"), "service": _l("Service"), "type": _l("Type"),
                "subject": _l("Subject")}


@bp.route("/categories")
@national_required
def categories():
    """Taxonomies of every kind, searchable and paginated."""
    q = catalog.categories(request.args.get("kind") or None, request.args.get("q"))
    return render_page_or_partial("admin/categories.html", "admin/_category_rows.html", listing=_page(q),
                                  kinds=_category_kinds(), levels=LEVEL_LABELS)


def _kind_name(code: str) -> str:
    kind = kinds.find(code)
    return str(kind.name) if kind is not None else code


def _category_form(cat=None):
    form = F.CategoryForm(obj=cat if request.method == "GET" else None)
    form.kind.choices = [(k, str(v)) for k, v in _category_kinds().items()]
    form.level.choices = [(k, str(v)) for k, v in LEVEL_LABELS.items()]
    none = [("", "—")]
    form.parent_id.choices = none + [
        (str(c.id), f"{_kind_name(c.kind)} · {c.label()}") for c in db.session.scalars(
            catalog.categories().where(Category.level.in_(("category", "service"))))]
    units = db.session.scalars(db.select(OrgUnit).where(OrgUnit.kind.in_(("department", "team")))
                               .order_by(OrgUnit.name)).all()
    form.department_id.choices = none + [(str(u.id), u.label()) for u in units if u.kind == "department"]
    form.route_to_id.choices = none + [(str(u.id), u.label()) for u in units]
    if request.method == "GET":
        if cat is None:
            form.kind.data = request.args.get("kind") or "complaint"
        else:
            for name in ("parent_id", "department_id", "route_to_id"):
                getattr(form, name).data = str(getattr(cat, name) or "")
    return form


def _int(value):
    # ASCII digits that fit the id column ("²".isdigit() is true; a 40-digit id overflows)
    return as_id(value)


def _save_category(form, cat):
    return catalog.save_category(
        current_user, cat, kind=form.kind.data, level=form.level.data, code=form.code.data,
        parent_id=_int(form.parent_id.data), department_id=_int(form.department_id.data),
        route_to_id=_int(form.route_to_id.data), name_en=form.name_en.data, name_hi=form.name_hi.data,
        name_fa=form.name_fa.data, active=form.active.data, sort_order=form.sort_order.data or 0, now=_now())


@bp.route("/categories/new", methods=["GET", "POST"])
@bp.route("/categories/<id:cat_id>", methods=["GET", "POST"])
@national_required
def category_edit(cat_id=None):
    """Add or edit a taxonomy entry (names in three languages, order, active flag)."""
    cat = db.session.get(Category, cat_id) if cat_id else None
    if cat_id and cat is None:
        abort(404)
    form = _category_form(cat)
    if form.validate_on_submit():
        try:
            saved = _save_category(form, cat)
        except AdminError as exc:
            _field_error(form, exc, "code")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.categories", kind=saved.kind), code=303)
    action = url_for("admin.category_edit", cat_id=cat_id) if cat_id else url_for("admin.category_edit")
    return _form_page(form, _("Edit entry") if cat else _("New entry"), action, _("Save"),
                      status=_status(form), back=url_for("admin.categories"))


# ---- pincodes -------------------------------------------------------------------

@bp.route("/pincodes")
@admin_required
def pincodes():
    """The pincode directory of the administrator's divisions."""
    q = catalog.pincodes(current_user, request.args.get("q"))
    return render_page_or_partial("admin/pincodes.html", "admin/_pincode_rows.html", listing=_page(q))


@bp.route("/pincodes/new", methods=["GET", "POST"])
@bp.route("/pincodes/<id:entry_id>", methods=["GET", "POST"])
@admin_required
def pincode_edit(entry_id=None):
    """Add or edit a pincode (the division must be in the administrator's jurisdiction)."""
    entry = _scoped(catalog.get_pincode_for, entry_id) if entry_id else None
    form = F.PincodeForm(obj=entry if request.method == "GET" else None)
    if request.method == "GET" and entry is not None:
        form.division_code.data = entry.division.code
    if form.validate_on_submit():
        try:
            catalog.save_pincode(current_user, entry, pincode=form.pincode.data, office_name=form.office_name.data,
                                 district=form.district.data, state=form.state.data,
                                 division_code=form.division_code.data, now=_now())
        except AdminError as exc:
            _field_error(form, exc, "pincode")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.pincodes", q=form.pincode.data), code=303)
    action = url_for("admin.pincode_edit", entry_id=entry_id) if entry_id else url_for("admin.pincode_edit")
    return _form_page(form, _("Edit pincode") if entry else _("New pincode"), action, _("Save"),
                      status=_status(form), back=url_for("admin.pincodes"))


@bp.route("/pincodes/import", methods=["GET", "POST"])
@admin_required
def pincodes_import():
    """Add or update pincodes from CSV: a per-row error report, all rows or none."""
    return _import(_("Import pincodes"), catalog.import_pincodes,
                   "pincode,office_name,district,state,division_code\n"
                   "560099,Electronic City PO,Bengaluru,Karnataka,KA-BGE", url_for("admin.pincodes"))


# ---- SLA matrix and holidays ----------------------------------------------------

def _days(raw: str) -> int | None:
    """A posted number of days: ASCII digits only (`"²".isdigit()` is true but `int("²")`
    fails). An absurdly long number counts as out of range, not as a crash."""
    raw = ascii_digits(raw).strip()  # ۳ and ३ are 3
    if not re.fullmatch(r"[0-9]+", raw):
        return None
    return int(raw) if len(raw) <= 6 else 10**6


def _year(value) -> int:
    """The `?year=` of the holiday page; anything that is not a year `date` can hold
    (a 40-digit number, -1, ¹²) shows the current year."""
    year = typed_number(value)
    return year if year is not None and MINYEAR <= year <= MAXYEAR else date.today().year


@bp.route("/sla", methods=["GET", "POST"])
@national_required
def sla():
    """The SLA matrix: business days to first response and to resolution, per kind and
    priority."""
    matrix = catalog.sla_matrix()
    errors: dict[str, str] = {}
    values: dict = {}
    form = F.ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        for kind in wf.KINDS:
            for prio in catalog.PRIORITIES:
                raw = (request.form.get(f"{kind}-{prio}-response", ""), request.form.get(f"{kind}-{prio}-resolution", ""))
                if not raw[0] and not raw[1] and (kind, prio) not in matrix:
                    continue
                days = (_days(raw[0]), _days(raw[1]))
                if None in days:
                    errors[f"{kind}-{prio}"] = _("Enter whole numbers of days.")
                    continue
                values[(kind, prio)] = days
                if values[(kind, prio)][0] > values[(kind, prio)][1]:
                    errors[f"{kind}-{prio}"] = _("The response time cannot be longer than the resolution time.")
                elif values[(kind, prio)][1] > 365:
                    errors[f"{kind}-{prio}"] = _("Days must be between 0 and 365.")
        if not errors:
            try:
                n = catalog.save_sla(current_user, values, _now())
            except AdminError as exc:
                flash(str(exc.message), "error")
            else:
                flash(_("SLA matrix saved (%(n)s changes).", n=n), "success")
                return redirect(url_for("admin.sla"), code=303)
    status = 422 if errors else 200
    return render_template("admin/sla.html", matrix=matrix, kinds=wf.KINDS, priorities=catalog.PRIORITIES,
                           errors=errors, posted=request.form if request.method == "POST" else None,
                           form=form), status


@bp.route("/holidays", methods=["GET", "POST"])
@national_required
def holidays():
    """The holiday calendar of a year: add a day, remove one, load national holidays."""
    year = _year(request.args.get("year"))
    form = F.HolidayForm()
    load = F.LoadHolidaysForm(year=year)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                catalog.add_holiday(current_user, form.day.data, form.name.data, _now())
            except AdminError as exc:
                _field_error(form, exc, "day")
                status = 422
            else:
                flash(_("Holiday added."), "success")
                return redirect(url_for("admin.holidays", year=form.day.data.year), code=303)
        else:
            status = 422
    rows = db.session.scalars(catalog.holidays(year)).all()
    return render_page_or_partial("admin/holidays.html", "admin/_holiday_rows.html", status=status,
                                  rows=rows, year=year, form=form, load=load, confirm=F.ConfirmForm())


@bp.route("/holidays/<id:holiday_id>/delete", methods=["POST"])
@national_required
def holiday_delete(holiday_id):
    row = db.session.get(Holiday, holiday_id) or abort(404)
    if not F.ConfirmForm().validate_on_submit():
        abort(400)
    year = row.day.year
    catalog.remove_holiday(current_user, row, _now())
    flash(_("Holiday removed."), "success")
    return hx_redirect(url_for("admin.holidays", year=year))


@bp.route("/holidays/load", methods=["POST"])
@national_required
def holidays_load():
    """Load the year's national holidays (the `holidays` package; days already present stay)."""
    form = F.LoadHolidaysForm()
    if not form.validate_on_submit():
        flash(_("Choose a year between 2000 and 2100."), "error")
        return redirect(url_for("admin.holidays"), code=303)
    n = catalog.load_national(current_user, form.year.data, _now())
    flash(_("%(n)s national holidays added.", n=n), "success")
    return redirect(url_for("admin.holidays", year=form.year.data), code=303)


# ---- notification templates -----------------------------------------------------

@bp.route("/templates")
@national_required
def templates_list():
    """Every notification template × channel × language, with its override state."""
    from app.models import NotificationTemplate

    custom = {(t.name, t.channel, t.locale) for t in db.session.scalars(db.select(NotificationTemplate))}
    q = (request.args.get("q") or "").strip().lower()
    names = [n for n in templates.names() if q in n]
    return render_page_or_partial("admin/templates.html", "admin/_template_rows.html", names=names,
                                  custom=custom, channels=templates.CHANNELS)


@bp.route("/templates/<name>/<channel>/<locale>", methods=["GET", "POST"])
@national_required
def template_edit(name, channel, locale):
    """Edit one template's wording, with a preview filled with sample values."""
    from flask import current_app

    if name not in templates.names() or channel not in templates.CHANNELS or \
            locale not in current_app.config["LANGUAGES"]:
        abort(404)
    row = templates.get(name, channel, locale)
    default_subject, default_body = templates.default_text(name, channel, locale)
    form = F.TemplateForm(obj=row if request.method == "GET" else None)
    if request.method == "GET" and row is None:
        form.subject.data, form.body.data = default_subject, default_body
    preview = None
    status = 200
    if form.validate_on_submit():
        try:
            templates.check_text(name, form.subject.data or "")
            templates.check_text(name, form.body.data or "")
            if "preview" in request.form:
                preview = templates.preview(name, channel, form.subject.data or "", form.body.data)
            else:
                templates.save(current_user, name=name, channel=channel, locale=locale,
                               subject=form.subject.data, body=form.body.data, now=_now())
                flash(_("Template saved."), "success")
                return redirect(url_for("admin.template_edit", name=name, channel=channel, locale=locale), code=303)
        except AdminError as exc:
            form.body.errors.append(exc.message)
            status = 422
    elif request.method == "POST":
        status = 422
    if request.method == "GET":
        preview = templates.preview(name, channel, form.subject.data or "", form.body.data or "")
    if is_htmx() and status == 422:
        status = 200  # htmx 2 does not swap 4xx answers: the fragment carries the error
    return render_page_or_partial(
        "admin/template.html", "admin/_template_preview.html", status=status, form=form, name=name,
        channel=channel, locale=locale, row=row, preview=preview,
        sms=templates.sms_length(preview[1]) if channel == "sms" and preview else None,
        allowed=sorted(templates.allowed_placeholders(name)), confirm=F.ConfirmForm())


@bp.route("/templates/<name>/<channel>/<locale>/reset", methods=["POST"])
@national_required
def template_reset(name, channel, locale):
    if not F.ConfirmForm().validate_on_submit():
        abort(400)
    templates.reset(current_user, name=name, channel=channel, locale=locale, now=_now())
    flash(_("The built-in wording applies again."), "success")
    return hx_redirect(url_for("admin.template_edit", name=name, channel=channel, locale=locale))


# ---- audit log and outbox -------------------------------------------------------

def _date(value):
    """A date filter typed in the reader's calendar (Solar Hijri in Persian), or ISO."""
    return parse_local_date(value)


def _audit_query():
    a = request.args
    if a.get("tab") == "status":
        return audits.status_changes_query(current_user, text=a.get("q"), start=_date(a.get("start")),
                                           end=_date(a.get("end")))
    return audits.audit_query(current_user, group=a.get("group") or None, actor=a.get("actor") or None,
                              text=a.get("q"), start=_date(a.get("start")), end=_date(a.get("end")))


@bp.route("/audit")
@admin_required
def audit_log():
    """The audit log (read-only): sign-ins, denials, admin changes; or case status
    changes from the timeline. Filters, pages and CSV export."""
    return render_page_or_partial("admin/audit.html", "admin/_audit_rows.html", listing=_page(_audit_query()),
                                  tab=request.args.get("tab") or "log", groups=AUDIT_GROUPS,
                                  date_example=format_input_date(date.today()))


AUDIT_GROUPS = {"signin": _l("Sign-ins"), "denied": _l("Permission denials"), "admin": _l("Admin changes")}


@bp.route("/audit.csv")
@admin_required
def audit_export():
    """The filtered audit rows as CSV (at most 50,000)."""
    rows = db.session.scalars(_audit_query().limit(50000)).all()
    body = audits.status_csv(rows) if request.args.get("tab") == "status" else audits.audit_csv(rows)
    audit.record("admin.audit.export", actor=current_user, target="audit", detail=f"{len(rows)} rows",
                 commit=True)
    return download(body, "audit.csv", "text/csv")


@bp.route("/outbox")
@national_required
def outbox():
    """Notifications waiting, sent and failed (with the error), with a retry button."""
    q = audits.outbox_query(request.args.get("status") or None, request.args.get("q"))
    return render_page_or_partial("admin/outbox.html", "admin/_outbox_rows.html", listing=_page(q),
                                  confirm=F.ConfirmForm())


@bp.route("/outbox/<id:notification_id>/retry", methods=["POST"])
@national_required
def outbox_retry(notification_id):
    if not F.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        audits.retry(current_user, notification_id, _now())
    except OutOfScope:
        abort(404)
    flash(_("The message is queued again."), "success")
    return hx_redirect(url_for("admin.outbox", **list_args("status", "q", "page")))


# ---- the helpdesk's e-mail intake (issue 26) -------------------------------------

@bp.route("/mail")
@national_required
def mail_intake():
    """Messages received at the helpdesk's address and what became of each: a ticket, a
    reply, dropped (auto-reply, loop) or failed with its reason; the raw message of each
    can be downloaded."""
    from app.services.front_doors import mail_intake as intake

    q = intake.intake_query(request.args.get("status") or None, request.args.get("q"))
    return render_page_or_partial("admin/mail.html", "admin/_mail_rows.html", listing=_page(q),
                                  reasons=MAIL_REASONS)


MAIL_REASONS = {
    "too_large": _l("Too large"), "malformed": _l("Malformed message"),
    "bad_encoding": _l("Wrongly encoded text"), "no_desk": _l("No helpdesk office to receive it"),
    "error": _l("Unexpected error"), "auto_reply": _l("Automatic reply"), "loop": _l("Mail loop"),
    "bounce": _l("Delivery failure report"),
}


@bp.route("/mail/<id:intake_id>.eml")
@national_required
def mail_raw(intake_id):
    """One received message exactly as it arrived."""
    from app.models import MailIntake

    row = db.session.get(MailIntake, intake_id)
    if row is None:
        abort(404)
    audit.record("admin.mail.download", actor=current_user, target=f"mail_intake:{row.id}", commit=True)
    return download(row.raw, f"message-{row.id}.eml", "message/rfc822")
