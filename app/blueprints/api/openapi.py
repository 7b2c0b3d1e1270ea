"""The OpenAPI 3.1 description of /api/v1/, written by hand and kept true by
tests/test_api_openapi.py (every route is described and every description is a route;
examples validate; a schemathesis run finds no server error or schema violation)."""

from __future__ import annotations

from copy import deepcopy

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
DT = {"type": "string", "format": "date-time"}
NDT = {"type": ["string", "null"], "format": "date-time"}
INT = {"type": "integer"}
ID = {"type": ["string", "integer"], "description": "an id from the matching list"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict, required: list | None = None, **extra) -> dict:
    out = {"type": "object", "properties": props, **extra}
    out["required"] = list(props) if required is None else required
    return out


EVENT = obj({"type": STR, "label": STR, "at": NDT, "status": NSTR, "text": STR})
SUMMARY_PROPS = {"reference": STR, "kind": STR, "status": STR, "status_label": STR, "service": NSTR,
                 "created_at": DT, "updated_at": DT}
OFFICE = {"type": ["object", "null"], "properties": {"code": STR, "name": STR, "kind": STR},
          "required": ["code", "name", "kind"]}

SCHEMAS = {
    "Error": obj({"error": obj({
        "status": INT, "code": STR, "message": STR,
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": STR},
                   "description": "field name → translated messages (as the web form shows them)"},
    }, required=["status", "code", "message"])}),
    "Event": EVENT,
    "CaseSummary": obj(dict(SUMMARY_PROPS)),
    "PublicCase": obj({
        "reference": STR, "kind": STR, "kind_label": STR, "status": STR, "status_label": STR,
        "service": NSTR, "created_at": DT, "updated_at": DT, "closed_at": NDT,
        "requester": obj({"name": STR, "mobile": STR, "email": STR},
                         description="masked: initials, 98XXXXXX10, r***@example.in"),
        "serving_office": NSTR, "events": {"type": "array", "items": ref("Event")},
        "track_url": STR,
    }, required=["reference", "kind", "status", "status_label", "created_at", "requester", "events"]),
    "ComplaintCreated": obj({**SUMMARY_PROPS, "respond_token": STR, "respond_url": STR}),
    "RespondCase": obj({**SUMMARY_PROPS, "version": INT, "rated": {"type": "boolean"},
                        "actions": {"type": "array", "items": obj({"action": STR, "label": STR})},
                        "events": {"type": "array", "items": ref("Event")}}),
    "PartnerCase": obj({
        "reference": STR, "kind": STR, "status": STR, "status_label": STR, "subject": STR,
        "category": NSTR, "priority": STR, "channel": STR, "office": OFFICE,
        "external_office": OFFICE, "escalation_level": INT, "pincode": NSTR,
        "requester": obj({"name": STR, "mobile": STR}), "version": INT,
        "created_at": DT, "updated_at": DT, "closed_at": NDT, "response_due": NDT,
        "resolution_due": NDT, "description": STR,
        "events": {"type": "array", "items": ref("Event")},
    }, required=["reference", "kind", "status", "office", "version", "created_at"]),
    "CaseList": obj({"items": {"type": "array", "items": ref("PartnerCase")},
                     "next_cursor": {**NSTR, "description": "pass as `after` for the next page"}}),
    "ServiceList": obj({"items": {"type": "array", "items": obj({"id": INT, "code": NSTR, "label": STR})}}),
    "CategoryTree": obj({"items": {"type": "array", "items": {"type": "object"}}}),
    "OtpSent": obj({"message": STR}),
    "TrackingToken": obj({"token": STR, "token_type": STR, "expires_in": INT, "expires_at": DT}),
    "MyRequests": obj({"mobile": STR, "items": {"type": "array", "items": ref("CaseSummary")}}),
    "ServiceRequestInput": obj({
        "name": STR, "address": STR, "pincode": STR, "email": STR, "mobile": STR, "service": ID,
        "details": STR,
        "submission_key": {"type": "string", "minLength": 16, "maxLength": 64,
                           "description": "a random key; repeating the call with it returns the same request"},
    }, required=["name", "address", "pincode", "email", "mobile", "service"]),
    "ComplaintInput": obj({
        "name": STR, "mobile": STR, "email": STR, "address": STR, "pincode": STR,
        "category": ID, "service": ID, "type": ID, "article": STR, "description": STR,
        "related": {"type": "string", "description": "reference of an earlier, closed complaint"},
        "submission_key": {"type": "string", "minLength": 16, "maxLength": 64},
    }, required=["name", "mobile", "pincode", "category", "service", "type", "description"]),
    "MobileInput": obj({"mobile": STR}),
    "VerifyInput": obj({"mobile": STR, "code": STR}),
    "RespondInput": obj({
        "action": {"type": "string", "enum": ["accept", "clarify", "reject", "provide_info",
                                              "requester_reply", "rate"]},
        "text": STR, "rating": {"type": ["string", "integer"], "description": "1 to 5 (rate)"},
        "version": {"type": ["string", "integer"], "description": "the version you read"},
    }, required=["action"]),
    "ExternalUpdateInput": obj({"text": STR, "version": {"type": ["string", "integer"]}},
                               required=["text"]),
}

EXAMPLES = {
    "ServiceRequestInput": {"name": "Ravi Kumar", "address": "1 MG Road, Bengaluru", "pincode": "560001",
                            "email": "ravi@example.in", "mobile": "9876543210", "service": 3,
                            "details": "Please come after 4 pm.",
                            "submission_key": "app-7f3c2a9e4b1d4c8e"},
    "ComplaintInput": {"name": "Asha Rao", "mobile": "9876543210", "email": "asha@example.in",
                       "pincode": "560001", "category": 1, "service": 2, "type": 3,
                       "article": "EE123456789IN",
                       "description": "My Speed Post article has not been delivered for ten days."},
    "MobileInput": {"mobile": "9876543210"},
    "VerifyInput": {"mobile": "9876543210", "code": "123456"},
    "RespondInput": {"action": "accept", "version": 4},
    "ExternalUpdateInput": {"text": "Customs: the parcel was released on 21 Nov.", "version": 5},
}


def _errors(*codes: int) -> dict:
    words = {400: "Bad request", 401: "No valid key or token", 403: "Key revoked", 404: "Not found",
             409: "Conflicts with the case's state", 415: "Not JSON", 422: "Field errors",
             429: "Rate limit reached"}
    out = {str(c): {"description": words[c], "content": {"application/json": {"schema": ref("Error")}}}
           for c in codes}
    out["default"] = {"description": "Error", "content": {"application/json": {"schema": ref("Error")}}}
    return out


def _ok(code: int, schema: str, description: str = "OK") -> dict:
    return {str(code): {"description": description, "content": {"application/json": {"schema": ref(schema)}}}}


def _body(schema: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": ref(schema),
                                                               "example": EXAMPLES[schema]}}}


def _path_param(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": STR, "description": description}


REFERENCE = _path_param("reference", "the case's reference number")
TOKEN = _path_param("token", "the signed token from a notification (or from registering a complaint)")
PARTNER = [{"bearerAuth": []}, {"apiKey": []}]
JSON_BODY_ERRORS = (400, 415, 422, 429)

PATHS = {
    "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "tags": ["meta"],
                              "responses": {"200": {"description": "OpenAPI 3.1",
                                                    "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/services": {"get": {"summary": "Doorstep services", "operationId": "services", "tags": ["public"],
                          "responses": {**_ok(200, "ServiceList"), **_errors(429)}}},
    "/complaint-categories": {"get": {
        "summary": "Complaint category → service → type", "operationId": "complaintCategories",
        "tags": ["public"], "responses": {**_ok(200, "CategoryTree"), **_errors(429)}}},
    "/requests": {"post": {
        "summary": "Raise a doorstep service request", "operationId": "raiseRequest", "tags": ["public"],
        "description": "Same validation and routing as the web form (Division of the pincode). "
                       "Field errors are translated by Accept-Language (en, hi, fa).",
        "requestBody": _body("ServiceRequestInput"),
        "responses": {**_ok(201, "PublicCase", "Registered"), **_ok(200, "PublicCase", "Already registered "
                      "with this submission_key"), **_errors(*JSON_BODY_ERRORS, 409)}}},
    "/complaints": {"post": {
        "summary": "Register a complaint", "operationId": "raiseComplaint", "tags": ["public"],
        "description": "Same validation and routing as the public complaint form. The answer "
                       "carries `respond_token` for /respond/{token}.",
        "requestBody": _body("ComplaintInput"),
        "responses": {**_ok(201, "ComplaintCreated", "Registered"),
                      **_ok(200, "ComplaintCreated", "Already registered with this submission_key"),
                      **_errors(*JSON_BODY_ERRORS, 409)}}},
    "/track/{reference}": {"get": {
        "summary": "Track a doorstep request by reference (masked)", "operationId": "track",
        "tags": ["public"], "parameters": [REFERENCE],
        "responses": {**_ok(200, "PublicCase"), **_errors(404, 429)}}},
    "/track/otp": {"post": {
        "summary": "Send a one-time code to a mobile", "operationId": "trackOtp", "tags": ["public"],
        "description": "The answer is the same whether or not the mobile has requests.",
        "requestBody": _body("MobileInput"),
        "responses": {**_ok(202, "OtpSent", "Accepted"), **_errors(*JSON_BODY_ERRORS)}}},
    "/track/verify": {"post": {
        "summary": "Verify the one-time code", "operationId": "trackVerify", "tags": ["public"],
        "requestBody": _body("VerifyInput"),
        "responses": {**_ok(200, "TrackingToken"), **_errors(*JSON_BODY_ERRORS)}}},
    "/track/mine": {"get": {
        "summary": "The requests of the verified mobile", "operationId": "trackMine", "tags": ["public"],
        "parameters": [{"name": "X-Tracking-Token", "in": "header", "required": True, "schema": STR,
                        "description": "the token from /track/verify"}],
        "responses": {**_ok(200, "MyRequests"), **_errors(401, 429)}}},
    "/respond/{token}": {
        "get": {"summary": "Where the case stands; the answers allowed now", "operationId": "respondGet",
                "tags": ["public"], "parameters": [TOKEN],
                "responses": {**_ok(200, "RespondCase"), **_errors(404, 429)}},
        "post": {"summary": "Accept, reject, ask for clarification, provide information, rate",
                 "operationId": "respondPost", "tags": ["public"], "parameters": [TOKEN],
                 "requestBody": _body("RespondInput"),
                 "responses": {**_ok(200, "RespondCase"), **_errors(404, 409, *JSON_BODY_ERRORS)}}},
    "/cases": {"get": {
        "summary": "Cases in the key's office subtree (newest first)", "operationId": "listCases",
        "tags": ["partner"], "security": PARTNER,
        "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
            {"name": "after", "in": "query", "schema": STR, "description": "next_cursor of the previous page"},
            {"name": "kind", "in": "query", "schema": STR},
            {"name": "status", "in": "query", "schema": STR}],
        "responses": {**_ok(200, "CaseList"), **_errors(400, 401, 403, 429)}}},
    "/cases/{reference}": {"get": {
        "summary": "One case in scope, with its public timeline and external updates",
        "operationId": "getCase", "tags": ["partner"], "security": PARTNER, "parameters": [REFERENCE],
        "responses": {**_ok(200, "PartnerCase"), **_errors(401, 403, 404, 429)}}},
    "/cases/{reference}/external-updates": {"post": {
        "summary": "Record an external authority's update (complaint pending externally)",
        "operationId": "postExternalUpdate", "tags": ["partner"], "security": PARTNER,
        "parameters": [REFERENCE], "requestBody": _body("ExternalUpdateInput"),
        "responses": {**_ok(201, "PartnerCase", "Recorded"),
                      **_errors(401, 403, 404, 409, *JSON_BODY_ERRORS)}}},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Seva Desk API", "version": "1.0.0",
             "description": "Raise and track doorstep requests and complaints (public), and read "
                            "cases / record external authorities' updates (partner keys). "
                            "Cookies are ignored; errors are JSON `{error: {status, code, message, fields}}`."},
    "servers": [{"url": "/api/v1"}],
    "tags": [{"name": "public"}, {"name": "partner"}, {"name": "meta"}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer sd_…"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        },
    },
}


def document() -> dict:
    return deepcopy(DOCUMENT)
