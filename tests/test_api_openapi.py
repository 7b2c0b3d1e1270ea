"""The OpenAPI document is true: every API route is described and every description is
a route, examples validate against their schemas, and a schemathesis run against the
WSGI app finds no server error and no response that breaks the declared schema."""

import re

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from app.blueprints.api.openapi import EXAMPLES, document
from app.services.engine import cases
from tests.api_support import new_key
from tests.citizen_support import add_services, make_request
from tests.complaints_support import complaint, make_taxonomy
from tests.conftest import NOW

PREFIX = "/api/v1"
METHODS = {"get", "post", "put", "patch", "delete"}


def _api_routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        out |= {(path, m.lower()) for m in rule.methods if m.lower() in METHODS}
    return out


def test_every_route_is_described_and_vice_versa(app, client):
    served = client.get("/api/v1/openapi.json").json
    assert served["openapi"].startswith("3.1")
    described = {(p, m) for p, ops in served["paths"].items() for m in ops if m in METHODS}
    assert described == _api_routes(app)


def test_every_operation_has_an_id_and_json_errors(app):
    ids = []
    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            ids.append(op["operationId"])
            if path != "/openapi.json":
                assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, (path, method)
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path
    assert len(ids) == len(set(ids))


def _validator(name: str):
    schema = {**document(), "$ref": f"#/components/schemas/{name}"}
    return jsonschema_rs.Draft202012Validator(schema)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_validate(name):
    _validator(name).validate(EXAMPLES[name])
    for path, ops in document()["paths"].items():
        for op in ops.values():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body and body["schema"]["$ref"].endswith("/" + name):
                assert body["example"] == EXAMPLES[name]


def test_a_broken_example_is_caught():
    assert not _validator("ServiceRequestInput").is_valid({"name": "x"})


def test_example_requests_do_what_they_say(client, world):
    """The documented doorstep example, with this database's service id, is accepted."""
    services = add_services(world)
    body = {**EXAMPLES["ServiceRequestInput"], "service": services[0].id}
    r = client.post("/api/v1/requests", json=body)
    assert r.status_code == 201
    _validator("PublicCase").validate(r.json)
    r = client.get("/api/v1/openapi.json")
    assert r.json == document()


def test_real_answers_match_their_schemas(client, world):
    services = add_services(world)
    tax = make_taxonomy()
    req = make_request(world, service=services[0])
    _validator("PublicCase").validate(client.get(f"/api/v1/track/{req.reference}").json)
    _validator("ServiceList").validate(client.get("/api/v1/services").json)
    _validator("CategoryTree").validate(client.get("/api/v1/complaint-categories").json)
    c = complaint(world.d3, world.d3_op, category=tax.delay)
    cases.act(c, "start", now=NOW, actor=world.d3_op)
    cases.act(c, "refer_external", now=NOW, actor=world.d3_op, target_office=world.ext, text="Customs")
    key = {"X-API-Key": new_key("CEPT")}
    _validator("CaseList").validate(client.get("/api/v1/cases", headers=key).json)
    _validator("PartnerCase").validate(client.get(f"/api/v1/cases/{c.reference}", headers=key).json)
    r = client.post(f"/api/v1/cases/{c.reference}/external-updates", headers=key, json={"text": "Ok"})
    _validator("PartnerCase").validate(r.json)
    _validator("Error").validate(client.get("/api/v1/cases").json)


# ---- schema-driven fuzzing -------------------------------------------------------------------

@pytest.fixture
def api_schema(app, world):
    add_services(world)
    make_taxonomy()
    make_request(world)
    app.config["API_FUZZ_KEY"] = new_key("CEPT", "fuzz")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


fuzzed = schemathesis.pytest.from_fixture("api_schema")


@fuzzed.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_fuzz_no_server_errors_and_schema_holds(case, app):
    headers = {"Authorization": f"Bearer {app.config['API_FUZZ_KEY']}"} \
        if case.operation.path.startswith("/cases") else None
    case.call_and_validate(headers=headers, checks=[not_a_server_error, status_code_conformance,
                                                    response_schema_conformance])
