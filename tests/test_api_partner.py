"""Partner API: keys issued by the CLI (hashed, scoped to an office subtree, revocable,
last use recorded), listing and reading cases in scope, external authorities' updates."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.domain import workflow as wf
from app.extensions import db
from app.models import ApiKey, Case, CaseEvent
from app.services.administration import api_keys
from app.services.engine import cases
from tests.api_support import bearer, new_key
from tests.complaints_support import complaint
from tests.conftest import NOW
from tests.factories import make_case

H = timedelta(hours=1)


# ---- keys ------------------------------------------------------------------------------------

def test_cli_creates_a_hashed_key_lists_and_revokes_it(runner, world, client):
    r = runner.invoke(args=["api-key", "create", "--office", "R1", "--name", "Customs EDI"])
    assert r.exit_code == 0, r.output
    raw = r.output.strip().splitlines()[-1]
    key = db.session.scalar(select(ApiKey))
    assert raw.startswith(f"sd_{key.prefix}_") and key.office_id == world.r1.id
    assert key.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.split("_", 2)[2] not in key.secret_hash
    assert client.get("/api/v1/cases", headers=bearer(raw)).status_code == 200

    listed = runner.invoke(args=["api-key", "list"])
    assert key.prefix in listed.output and "Customs EDI" in listed.output and "active" in listed.output

    r = runner.invoke(args=["api-key", "revoke", key.prefix])
    assert r.exit_code == 0 and "revoked" in r.output
    refused = client.get("/api/v1/cases", headers=bearer(raw))
    assert refused.status_code == 403 and refused.json["error"]["message"] == "This API key has been revoked."
    assert "revoked" in runner.invoke(args=["api-key", "list"]).output


def test_cli_refuses_unknown_office_and_prefix(runner, world):
    r = runner.invoke(args=["api-key", "create", "--office", "NOPE", "--name", "x"])
    assert r.exit_code != 0 and "No active office" in r.output
    r = runner.invoke(args=["api-key", "revoke", "deadbeef"])
    assert r.exit_code != 0 and "No API key" in r.output


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer sd_deadbeef_wrong"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-API-Key": "not-a-key"},
])
def test_missing_or_wrong_keys_are_401(client, world, headers):
    new_key("R1")
    r = client.get("/api/v1/cases", headers=headers)
    assert r.status_code == 401 and r.is_json
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_right_prefix_with_a_wrong_secret_is_401(client, world):
    raw = new_key("R1")
    assert client.get("/api/v1/cases", headers=bearer(raw[:-2] + "xx")).status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(client, world):
    raw = new_key("R1")
    key = db.session.scalar(select(ApiKey))
    assert key.last_used_at is None
    with time_machine.travel(NOW, tick=False):
        client.get("/api/v1/cases", headers={"X-API-Key": raw})
        db.session.refresh(key)
        assert key.last_used_at == NOW
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        client.get("/api/v1/cases", headers={"X-API-Key": raw})
        db.session.refresh(key)
        assert key.last_used_at == NOW
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        client.get("/api/v1/cases", headers={"X-API-Key": raw})
        db.session.refresh(key)
        assert key.last_used_at == NOW + timedelta(minutes=2)


def test_a_browser_session_is_not_a_key(client, auth, world):
    auth.login(world.admin.login_id)
    assert client.get("/cases/").status_code == 200  # signed in on the web
    r = client.get("/api/v1/cases")
    assert r.status_code == 401
    assert "Set-Cookie" not in r.headers


# ---- listing and reading -------------------------------------------------------------------

def test_list_is_scoped_to_the_subtree_and_keyset_paginated(client, world):
    d1 = [make_case("complaint", world.d1, now=NOW + i * H) for i in range(5)]
    make_case("complaint", world.d3, now=NOW)  # R2: outside R1
    make_case("complaint", world.d4, now=NOW)  # another circle
    ho = make_case("service_request", world.ho1, now=NOW + 9 * H)  # below D1: inside
    raw = new_key("R1")
    seen, after = [], None
    while True:
        url = "/api/v1/cases?limit=2" + (f"&after={after}" if after else "")
        r = client.get(url, headers=bearer(raw))
        assert r.status_code == 200 and len(r.json["items"]) <= 2
        seen += [c["reference"] for c in r.json["items"]]
        after = r.json["next_cursor"]
        if after is None:
            break
    assert seen == [ho.reference] + [c.reference for c in reversed(d1)]
    r = client.get("/api/v1/cases?kind=service_request", headers=bearer(raw))
    assert [c["reference"] for c in r.json["items"]] == [ho.reference]
    r = client.get("/api/v1/cases?status=closed", headers=bearer(raw))
    assert r.json["items"] == []


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"), ("after=abc", "after"),
    ("kind=unicorn", "kind"), ("status=lost", "status"),
])
def test_bad_query_parameters_are_400_with_field_errors(client, world, query, field):
    r = client.get(f"/api/v1/cases?{query}", headers=bearer(new_key("R1")))
    assert r.status_code == 400 and field in r.json["error"]["fields"]


def test_case_detail_hides_internal_notes_and_masks_the_requester(client, world):
    case = make_case("complaint", world.d1)
    cases.act(case, "note", now=NOW + H, actor=world.d1_op, text="Internal: check CCTV")
    cases.act(case, "reply", now=NOW + 2 * H, actor=world.d1_op, text="We are looking into it.")
    r = client.get(f"/api/v1/cases/{case.reference}", headers=bearer(new_key("C1")))
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Internal" not in body and "9876543210" not in body and "We are looking into it." in body
    assert r.json["requester"] == {"name": "R. K.", "mobile": "98XXXXXX10"}
    assert r.json["office"] == {"code": "D1", "name": "D1", "kind": "division"}


def test_a_case_outside_the_subtree_is_404_like_a_missing_one(client, world):
    case = make_case("complaint", world.d3)
    raw = new_key("R1")
    r = client.get(f"/api/v1/cases/{case.reference}", headers=bearer(raw))
    g = client.get("/api/v1/cases/CMP-NOPE", headers=bearer(raw))
    assert r.status_code == g.status_code == 404 and r.json == g.json


# ---- external authorities' updates ----------------------------------------------------------

@pytest.fixture
def referred(world):
    case = complaint(world.d3, world.d3_op)
    cases.act(case, "start", now=NOW + H, actor=world.d3_op)
    cases.act(case, "refer_external", now=NOW + 2 * H, actor=world.d3_op, target_office=world.ext,
              text="Held by customs")
    return case


def test_the_external_authority_key_sees_and_updates_its_referred_complaint(client, world, referred):
    raw = new_key("EXT", "Customs EDI")
    listed = client.get("/api/v1/cases", headers=bearer(raw)).json["items"]
    assert [c["reference"] for c in listed] == [referred.reference]
    assert listed[0]["external_office"]["code"] == "EXT"
    r = client.post(f"/api/v1/cases/{referred.reference}/external-updates", headers=bearer(raw),
                    json={"text": "Released after duty payment.", "version": referred.version})
    assert r.status_code == 201, r.json
    assert r.json["status"] == wf.PENDING_EXTERNAL
    assert r.json["events"][-1]["type"] == "external_update"
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.type == "external_update"))
    assert event.actor_kind == "partner" and event.actor_id is None and event.public is False
    assert event.data["partner"] == "Customs EDI"
    # the citizen-facing views never show it
    assert "Released" not in client.get(f"/api/v1/track/{referred.reference}").get_data(as_text=True)


def test_external_update_needs_text_and_the_current_version(client, world, referred):
    raw = new_key("C1")
    url = f"/api/v1/cases/{referred.reference}/external-updates"
    r = client.post(url, headers=bearer(raw), json={"text": "  "})
    assert r.status_code == 422 and r.json["error"]["fields"]["text"] == ["Please write your text."]
    r = client.post(url, headers=bearer(raw), json={"text": "x" * 5001})
    assert r.status_code == 422
    r = client.post(url, headers=bearer(raw), json={"text": "Update", "version": referred.version - 1})
    assert r.status_code == 409
    r = client.post(url, headers=bearer(raw), json={"text": "Update", "version": "v2"})
    assert r.status_code == 422 and "version" in r.json["error"]["fields"]
    assert client.post(url, headers=bearer(raw), data="text").status_code == 415


def test_external_update_on_a_case_not_pending_externally_is_409(client, world):
    case = complaint(world.d1)
    r = client.post(f"/api/v1/cases/{case.reference}/external-updates", headers=bearer(new_key("R1")),
                    json={"text": "Update"})
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    assert db.session.get(Case, case.id).status == wf.OPEN


def test_partner_rate_limit_per_key(client, world, app, rate_limits):
    app.config["API_KEY_RATE_LIMIT"] = "2 per minute"
    a, b = new_key("R1"), new_key("R1", "Other partner")
    assert [client.get("/api/v1/cases", headers=bearer(a)).status_code for _ in range(2)] == [200, 200]
    r = client.get("/api/v1/cases", headers=bearer(a))
    assert r.status_code == 429 and r.json["error"]["code"] == "too_many_requests"
    assert client.get("/api/v1/cases", headers=bearer(b)).status_code == 200


def test_partner_rate_limit_per_ip(client, world, app, rate_limits):
    app.config["API_IP_RATE_LIMIT"] = "3 per minute"
    keys = [new_key("R1", f"p{i}") for i in range(4)]
    codes = [client.get("/api/v1/cases", headers=bearer(k)).status_code for k in keys]
    assert codes == [200, 200, 200, 429]


def test_revoked_key_service(world):
    key, raw = api_keys.create("R1", "x", now=NOW)
    api_keys.revoke(key.prefix, now=NOW)
    with pytest.raises(api_keys.Revoked):
        api_keys.authenticate(raw, now=NOW)


def test_staff_see_the_partner_update_on_the_case_page(client, auth, world, referred):
    raw = new_key("EXT", "Customs EDI")
    client.post(f"/api/v1/cases/{referred.reference}/external-updates", headers=bearer(raw),
                json={"text": "Released after duty payment."})
    auth.login(world.d3_op.login_id)
    html = client.get(f"/cases/{referred.reference}").get_data(as_text=True)
    assert "Released after duty payment." in html and "Customs EDI" in html
