"""Issue 22 item 3: every id from a URL path or a query string goes through one parser
(`app.inputs.as_id`, and the `<id:...>` URL converter built on it) with a range check:
an id beyond the database's integer range or a digit look-alike is a 404 (or the API's
documented 400), never a 500 (OverflowError, ValueError)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from werkzeug.routing import FloatConverter, IntegerConverter

from app.inputs import MAX_ID, IdConverter, as_id
from tests.api_support import bearer, new_key
from tests.factories import make_case

HUGE = "99999999999999999999999"  # beyond 64 bits: OverflowError in the driver
BAD_IDS = [HUGE, str(MAX_ID + 1), str(2**63), "²", "¹²", "٣", "३", "-1", "+1", "1e3", "0x1", "1.0",
           " 1", "1 ", "\u00a01", "1\u200b"]


# ---- the parser -------------------------------------------------------------------------

@pytest.mark.parametrize("value", BAD_IDS + ["", None, [], "1" * 11, "0" * 11 + "1", 2**40, -1])
def test_as_id_refuses(value):
    if isinstance(value, str) and value.strip() != value and value.strip().isascii() \
            and value.strip().isdigit():
        assert as_id(value) == int(value.strip())  # surrounding blanks of a form field
    else:
        assert as_id(value) is None


@pytest.mark.parametrize("value, expected", [("0", 0), ("7", 7), ("007", 7), (str(MAX_ID), MAX_ID), (12, 12)])
def test_as_id_accepts(value, expected):
    assert as_id(value) == expected


# ---- URL path ids -------------------------------------------------------------------------

def test_no_route_uses_werkzeug_number_converters(app):
    """`<int:...>` matches any length and any Unicode digit; every id uses `<id:...>`."""
    offenders = [(r.rule, name) for r in app.url_map.iter_rules()
                 for name, conv in r._converters.items()
                 if isinstance(conv, (IntegerConverter, FloatConverter))
                 or (name.endswith("_id") and not isinstance(conv, IdConverter))]
    assert offenders == []
    assert any(isinstance(c, IdConverter) for r in app.url_map.iter_rules() for c in r._converters.values())


def test_no_int_converter_or_int_parsing_of_request_values_in_the_source():
    app_dir = Path(__file__).resolve().parent.parent / "app"
    pattern = re.compile(r"<int:|<float:|type=int|\bint\(request\.|\bint\((days|cursor|after|page|"
                         r"office|size|limit|year)\b|\bint\(\w+\.data\)|\.isdigit\(\) and int\(")
    bad = [f"{p.relative_to(app_dir.parent)}:{n}: {line.strip()}"
           for p in app_dir.rglob("*.py")
           for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
           if pattern.search(line)]
    assert bad == []


def _id_rules(app):
    for rule in app.url_map.iter_rules():
        ids = [n for n, c in rule._converters.items() if isinstance(c, IdConverter)]
        if ids:
            yield rule, ids


def _fill(rule_text: str, values: dict) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule_text)


@pytest.fixture
def case(world):
    return make_case("complaint", world.d1)


def test_every_path_id_route_answers_404_for_bad_ids(app, client, auth, world, case):
    auth.login(world.admin.login_id)
    rules = list(_id_rules(app))
    assert {r.endpoint for r, _ids in rules} >= {"admin.office_detail", "cases.attachment", "admin.user_edit"}
    for rule, ids in rules:
        for bad in BAD_IDS:
            values = {"reference": case.reference, **{n: quote(bad, safe="") for n in ids}}
            url = _fill(rule.rule, values)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                r = client.open(url, method=method)
                assert r.status_code == 404, (method, url, r.status_code)


def test_the_reported_urls(client, auth, world, case):
    auth.login(world.admin.login_id)
    assert client.get(f"/admin/offices/{HUGE}").status_code == 404
    assert client.get(f"/cases/{case.reference}/attachments/{HUGE}").status_code == 404
    assert client.get(f"/admin/offices/{world.d1.id}").status_code == 200  # a real id still works
    assert client.get(f"/admin/offices/{MAX_ID}").status_code == 404  # in range, no such office


def test_path_ids_build_back_into_urls(app, world):
    from flask import url_for

    with app.test_request_context():
        assert url_for("admin.office_detail", office_id=world.d1.id) == f"/admin/offices/{world.d1.id}"


# ---- query-string ids ----------------------------------------------------------------------------

ID_PARAMS = ("office", "category", "service", "type", "after", "page", "size", "year", "days", "dep",
             "division", "user", "id", "cursor", "limit", "version", "parent", "cat_id", "office_id")


@pytest.mark.parametrize("bad", [HUGE, "²"])
@pytest.mark.parametrize("endpoint", ["/dashboard/", "/dashboard/export.csv", "/dashboard/export.xlsx",
                                      "/dashboard/tiles", "/dashboard/cases"])
def test_dashboard_office_that_is_not_an_id_is_404(client, auth, world, endpoint, bad):
    auth.login(world.admin.login_id)
    headers = {"HX-Request": "true"} if endpoint.endswith("tiles") else {}
    assert client.get(f"{endpoint}?office={quote(bad)}", headers=headers).status_code == 404


@pytest.mark.parametrize("param", ["days", "category", "after"])
@pytest.mark.parametrize("bad", [HUGE, "²"])
def test_dashboard_other_ids_are_ignored(client, auth, world, param, bad):
    auth.login(world.admin.login_id)
    for endpoint in ("/dashboard/", "/dashboard/export.csv", "/dashboard/cases"):
        assert client.get(f"{endpoint}?{param}={quote(bad)}").status_code == 200, endpoint
    r = client.get(f"/dashboard/tiles?{param}={quote(bad)}", headers={"HX-Request": "true"})
    assert r.status_code == 200


def _get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            yield rule


@pytest.mark.parametrize("bad", [HUGE, "²"])
def test_every_page_survives_bad_ids_in_the_query_string(app, client, auth, world, case, bad):
    """Every GET route, signed out and as users of several levels, with every id-like
    query argument set to a huge number or a digit look-alike: never a 500."""
    # All at once, and without `office` (a bad office ends a dashboard view at once).
    queries = ["&".join(f"{p}={quote(bad)}" for p in ID_PARAMS),
               "&".join(f"{p}={quote(bad)}" for p in ID_PARAMS if p != "office")]
    values = {"reference": case.reference, "token": "x", "name": "office", "fmt": "csv",
              "channel": "sms", "locale": "en", "filename": "x", "kind_code": "complaint"}
    urls = []
    for rule in _get_rules(app):
        path_values = dict(values, **{n: "1" for n, c in rule._converters.items()
                                      if isinstance(c, IdConverter)})
        urls.append(_fill(rule.rule, path_values))
    for who in (None, "admin", "d1_op", "c1_sup", "dept_user"):
        if who:
            auth.login(getattr(world, who).login_id)
        for url in urls:
            for query, headers in zip(queries, ({}, {"HX-Request": "true"}), strict=True):
                r = client.get(f"{url}?{query}", headers=headers)
                r.get_data()  # a streamed download: read it to the end
                r.close()
                assert r.status_code < 500, (who, url, query[:20], r.status_code)
        if who:
            auth.logout()


@pytest.mark.parametrize("bad", [HUGE, "²", str(MAX_ID + 1)])
def test_api_query_ids_answer_the_documented_400(client, world, bad):
    key = new_key("R1")
    for arg in ("after", "limit"):
        r = client.get(f"/api/v1/cases?{arg}={quote(bad)}", headers=bearer(key))
        assert r.status_code == 400, (arg, r.status_code)
        assert arg in r.get_json()["error"]["fields"]
