"""Every route is classified here, in one table; an unclassified route fails the suite.
Scoped routes are tried by a user of another office and by a lower role, and must be
refused without revealing whether the object exists."""

import re

from tests.factories import make_case

PUBLIC = "public"  # anyone, no sign-in
EMPLOYEE = "employee"  # any signed-in employee
CASE = "case"  # a case the user may see (role × jurisdiction), else 404
PARTNER = "partner"  # JSON API: an API key (header only) of an office subtree covering the case
MOVED = "moved"  # an old queue address: a permanent redirect to a view of the inbox, which checks


def ROLE(*roles):  # noqa: N802 - reads like a table entry
    return ("role", roles)


def CASE_OF(kind):  # noqa: N802
    """A case route of a given kind's front door."""
    return ("case", kind)


def ONLY(*refused):  # noqa: N802
    """Signed-in employees for whom the route's own check fails (403/404): the names
    of `world` users that must be refused."""
    return ("only", refused)


# endpoint -> classification
ROUTES = {
    "static": PUBLIC,
    "main.index": PUBLIC,
    "main.set_language": PUBLIC,
    "main.healthz": PUBLIC,
    "main.favicon": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": EMPLOYEE,
    "auth.change_password": EMPLOYEE,
    "auth.preferences": EMPLOYEE,
    "cases.queue": EMPLOYEE,  # each view says who sees it (app/services/read_models/views.py), else 404
    "cases.queue_csv": EMPLOYEE,
    "cases.counts": EMPLOYEE,
    "cases.bulk": EMPLOYEE,  # the view's bulk actions, for whom the view offers them (else 403/404)
    "cases.new": EMPLOYEE,  # the raise page of a kind without a door of its own (404 for any other kind)
    "cases.detail": CASE,
    "cases.act": CASE,
    "cases.attachment": CASE,
    # office tickets: raised by Sub/Head Offices, worked from Division upwards
    "tickets.new": ONLY("d1_op", "r1_op", "dept_user"),
    "tickets.scope": ONLY("d1_op", "r1_op"),
    "tickets.created": ONLY("d1_op", "r1_op", "so3_user"),  # so3: another office's ticket → 404
    "tickets.mine": MOVED,
    "tickets.pending": MOVED,
    # staff interactions: any employee raises and follows their own; handlers see their cartable
    "interactions.new": EMPLOYEE,
    "interactions.subjects": EMPLOYEE,
    "interactions.recipients": EMPLOYEE,
    "interactions.mine": MOVED,
    "interactions.cartable": MOVED,
    "interactions.detail": CASE_OF("interaction"),
    # helpdesk: L1 desk logs, teams work their queue, supervisors read the report
    "helpdesk.new": ROLE("helpdesk", "admin"),
    "helpdesk.log": MOVED,
    "helpdesk.queue": MOVED,
    "helpdesk.report": ROLE("helpdesk", "supervisor", "admin", "monitor"),
    "helpdesk.detail": CASE_OF("helpdesk"),
    # complaints: counter registration, processing in the jurisdiction, reports, reviews
    "complaints.register": ONLY("r1_mon"),
    "complaints.processing": MOVED,
    "complaints.reports": ROLE("operator", "supervisor", "admin", "monitor"),
    "complaints.report_csv": ROLE("operator", "supervisor", "admin", "monitor"),
    "complaints.reviews": ROLE("supervisor", "admin"),
    "complaints.review": ROLE("supervisor", "admin"),
    "complaint_public.register": PUBLIC,
    "complaint_public.choices": PUBLIC,
    "respond.respond": PUBLIC,  # a signed, expiring token names the case
    # citizens (no account): request, track by reference (masked) or by mobile + OTP
    "citizen.new_request": PUBLIC,
    "citizen.check_field": PUBLIC,
    "citizen.pincode_lookup": PUBLIC,
    "citizen.confirmation": PUBLIC,  # only for the browser session that raised it
    "citizen.track": PUBLIC,
    "citizen.track_detail": PUBLIC,  # masked contact data, public events only
    "citizen.rate": PUBLIC,  # needs the OTP-verified session flag
    "citizen.rate_link": PUBLIC,  # the signed link of the "Completed" message is the credential
    "citizen.track_mobile": PUBLIC,
    "citizen.track_verify": PUBLIC,
    "citizen.track_new_code": PUBLIC,  # a new code for the mobile this browser asked one for
    "citizen.track_mine": PUBLIC,  # needs the OTP-verified session flag
    # divisions work doorstep requests; regions/circles/CEPT monitor them read-only
    "citizen.office_queue": MOVED,
    "citizen.office_request": CASE,
    "citizen.monitor": PUBLIC,  # a redirect to the dashboard filtered to doorstep requests
    # monitoring: supervisors, monitors and admins, over their own subtree only; Region,
    # Circle and CEPT staff without those roles the kinds they watch (doorstep requests)
    "monitoring.dashboard": ROLE("supervisor", "monitor", "admin"),
    "monitoring.tiles": ROLE("supervisor", "monitor", "admin"),
    "monitoring.case_list": ROLE("supervisor", "monitor", "admin"),
    "monitoring.export": ROLE("supervisor", "monitor", "admin"),
    "monitoring.league_table": ROLE("supervisor", "monitor", "admin"),
    "monitoring.league_export": ROLE("supervisor", "monitor", "admin"),
    # administration: admins within their subtree; reference data and outbox national only
    "admin.audit_export": ROLE("admin"),
    "admin.audit_log": ROLE("admin"),
    "admin.categories": ROLE("admin"),  # national admin only
    "admin.category_edit": ROLE("admin"),  # national admin only
    "admin.externals": ROLE("admin"),  # national admin only
    "admin.holiday_delete": ROLE("admin"),  # national admin only
    "admin.holidays": ROLE("admin"),  # national admin only
    "admin.holidays_load": ROLE("admin"),  # national admin only
    "admin.index": ROLE("admin"),
    "admin.office_activate": ROLE("admin"),
    "admin.office_choices": ROLE("admin"),
    "admin.office_deactivate": ROLE("admin"),
    "admin.office_delete": ROLE("admin"),
    "admin.office_detail": ROLE("admin"),
    "admin.office_move": ROLE("admin"),
    "admin.office_new": ROLE("admin"),
    "admin.office_rename": ROLE("admin"),
    "admin.office_email": ROLE("admin"),
    "admin.offices_import": ROLE("admin"),
    "admin.offices_list": ROLE("admin"),
    "admin.outbox": ROLE("admin"),  # national admin only
    "admin.outbox_retry": ROLE("admin"),  # national admin only
    "admin.mail_intake": ROLE("admin"),  # national admin only
    "admin.mail_raw": ROLE("admin"),  # national admin only
    "admin.pincode_edit": ROLE("admin"),
    "admin.pincodes": ROLE("admin"),
    "admin.pincodes_import": ROLE("admin"),
    "admin.sla": ROLE("admin"),  # national admin only
    "admin.template_edit": ROLE("admin"),  # national admin only
    "admin.template_reset": ROLE("admin"),  # national admin only
    "admin.templates_list": ROLE("admin"),  # national admin only
    "admin.user_activate": ROLE("admin"),
    "admin.user_deactivate": ROLE("admin"),
    "admin.user_edit": ROLE("admin"),
    "admin.user_new": ROLE("admin"),
    "admin.user_reset_password": ROLE("admin"),
    "admin.user_unlock": ROLE("admin"),
    "admin.users_import": ROLE("admin"),
    "admin.users_list": ROLE("admin"),
    # JSON API (/api/v1/): public calls validate like the web forms; cookies are ignored
    "api.openapi": PUBLIC,
    "api.services": PUBLIC,
    "api.complaint_categories": PUBLIC,
    "api.raise_request": PUBLIC,
    "api.raise_complaint": PUBLIC,
    "api.track": PUBLIC,  # masked contact data, public events only (as citizen.track_detail)
    "api.track_otp": PUBLIC,
    "api.track_verify": PUBLIC,
    "api.track_mine": PUBLIC,  # needs the signed tracking token from track_verify
    "api.respond": PUBLIC,  # a signed, expiring token names the case
    "api.respond_post": PUBLIC,
    "api.cases_list": PARTNER,
    "api.case_detail": PARTNER,
    "api.external_update": PARTNER,
}

# who may not see a case of each kind raised in the `world` fixture (see _case_of)
OUTSIDERS = {
    "service_request": ["d2_op", "so3_user", "r2_op", "c2_sup", "dept_user"],
    "interaction": ["d2_op", "so3_user", "r2_op", "c2_sup", "team_user"],
    "helpdesk": ["d2_op", "so3_user", "c1_sup", "dept_user"],
}


def _case_of(kind, world):
    if kind == "interaction":
        return make_case(kind, world.dept, actor=world.d1_op, data={"addressed_to": "department"})
    if kind == "helpdesk":
        return make_case(kind, world.team)
    return make_case(kind, world.d1)


def test_every_route_is_classified(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert endpoints - set(ROUTES) == set(), "classify these routes in tests/test_authz_matrix.py"
    assert set(ROUTES) - endpoints == set(), "stale entries in the authorization table"


def _rules(app, kind):
    for rule in app.url_map.iter_rules():
        c = ROUTES.get(rule.endpoint)
        if (c == kind) or (isinstance(c, tuple) and c[0] == kind):
            yield rule


def _fill(rule, case, attachment_id=1):
    values = {}
    for arg in rule.arguments:
        if arg == "reference":
            values[arg] = case.reference
        elif arg.endswith("_id") or arg == "id":
            values[arg] = attachment_id
        elif arg == "token":
            values[arg] = "x"
        else:
            values[arg] = "1"
    path = rule.rule
    for k, v in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + k + ">", str(v), path)
    return path


def _method(rule):
    return "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]


def test_employee_routes_refuse_anonymous(app, client, world):
    case = make_case("service_request", world.d1)
    for rule in [*_rules(app, EMPLOYEE), *_rules(app, CASE), *_rules(app, "role"), *_rules(app, "only")]:
        r = client.open(_fill(rule, case), method=_method(rule))
        assert r.status_code in (302, 401), (rule.rule, r.status_code)
        if r.status_code == 302:
            assert "/auth/login" in r.headers["Location"], rule.rule


def _case_rules(app):
    for rule in app.url_map.iter_rules():
        c = ROUTES.get(rule.endpoint)
        if c == CASE:
            yield rule, "service_request"
        elif isinstance(c, tuple) and c[0] == "case":
            yield rule, c[1]


def test_case_routes_refuse_outsiders_without_revealing(app, client, auth, world):
    for rule, kind in _case_rules(app):
        case = _case_of(kind, world)
        ghost = type("C", (), {"reference": case.reference[:-7] + "0000000"})()
        for who in OUTSIDERS[kind]:
            auth.login(getattr(world, who).login_id)
            r = client.open(_fill(rule, case), method=_method(rule), data={"action": "start", "version": "1"})
            g = client.open(_fill(rule, ghost), method=_method(rule), data={"action": "start", "version": "1"})
            assert r.status_code == g.status_code == 404, (rule.rule, who, r.status_code)
            auth.logout()


def test_role_routes_refuse_lower_roles(app, client, auth, world):
    """Each role-restricted route refuses a signed-in operator without the role."""
    case = make_case("service_request", world.d1)
    auth.login(world.so1_user.login_id)  # Sub Office operator: the lowest role and level
    for rule in _rules(app, "role"):
        roles = ROUTES[rule.endpoint][1]
        if "operator" in roles:
            continue
        r = client.open(_fill(rule, case), method=_method(rule))
        assert r.status_code in (403, 404), rule.rule


def test_only_routes_refuse_the_listed_users(app, client, auth, world):
    case = make_case("service_request", world.d1)
    for rule in _rules(app, "only"):
        for who in ROUTES[rule.endpoint][1]:
            auth.login(getattr(world, who).login_id)
            r = client.open(_fill(rule, case), method=_method(rule))
            assert r.status_code in (403, 404), (rule.rule, who, r.status_code)
            auth.logout()


def test_moved_routes_redirect_to_a_view_of_the_inbox(app, client):
    """An old queue address answers a permanent redirect to its view, signed in or not
    (the view then asks for sign-in and checks who may see it)."""
    rules = list(_rules(app, MOVED))
    assert len(rules) == 8
    for rule in rules:
        r = client.get(rule.rule)
        assert r.status_code == 301 and "/cases/?view=" in r.headers["Location"], rule.rule


def _partner_key(office_code):
    from datetime import datetime

    from app.services.administration import api_keys

    return api_keys.create(office_code, f"partner {office_code}", now=datetime(2026, 11, 23))[1]


def test_partner_routes_need_a_key_and_stay_in_its_subtree(app, client, auth, world):
    """No key (even with a signed-in browser session) → 401; a key of another office's
    subtree → 404 for a case outside it, exactly as for a case that does not exist."""
    case = make_case("complaint", world.d1)
    ghost = type("C", (), {"reference": case.reference[:-7] + "0000000"})()
    inside, outside = _partner_key("R1"), _partner_key("C2")
    rules = list(_rules(app, PARTNER))
    assert rules
    auth.login(world.admin.login_id)
    for rule in rules:
        method = _method(rule)
        r = client.open(_fill(rule, case), method=method, json={"text": "Update"})
        assert r.status_code == 401 and r.is_json, (rule.rule, r.status_code)
        for key in (outside,):
            r = client.open(_fill(rule, case), method=method, json={"text": "Update"},
                            headers={"Authorization": f"Bearer {key}"})
            g = client.open(_fill(rule, ghost), method=method, json={"text": "Update"},
                            headers={"Authorization": f"Bearer {key}"})
            if "<reference>" in rule.rule:
                assert r.status_code == g.status_code == 404, (rule.rule, r.status_code)
            else:
                assert r.status_code == 200 and case.reference not in r.get_data(as_text=True)
        r = client.open(_fill(rule, case), method=method, json={"text": "Update"},
                        headers={"X-API-Key": inside})
        assert r.status_code in (200, 409), (rule.rule, r.status_code)  # 409: not pending externally
