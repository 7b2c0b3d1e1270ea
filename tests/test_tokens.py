"""Signed requester links (app/services/infrastructure/tokens.py): the serializer that skips zlib makes
the same tokens as itsdangerous's stock one, and either reads the other's."""

from itsdangerous import URLSafeTimedSerializer

from app.services.infrastructure import tokens
from tests.factories import make_case


def _stock(app, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=f"case-{purpose}")


def test_a_link_token_is_the_stock_serializers_token(app, world):
    case = make_case("complaint", world.d1)
    ours = tokens.make_case_token(case, "respond")
    stock = _stock(app, "respond").dumps({"ref": case.reference, "id": case.id})
    # payload.timestamp.signature: the payload is the same text (the timestamps may differ
    # by a second, and with them the signature).
    assert ours.split(".")[0] == stock.split(".")[0]
    assert not ours.startswith(".")  # not compressed


def test_links_signed_either_way_are_read(app, world):
    case = make_case("complaint", world.d1)
    payload = {"ref": case.reference, "id": case.id}
    sent_before = _stock(app, "respond").dumps(payload)  # a link sent by an earlier release
    assert tokens.load_case_token(sent_before, "respond") == payload
    assert _stock(app, "respond").loads(tokens.make_case_token(case, "respond")) == payload


def test_a_compressed_stock_token_is_still_read(app):
    # The stock serializer compresses a payload when that makes it shorter; reading one
    # must keep working even though ours never writes one.
    payload = {"ref": "SR-" + "A" * 200, "id": 1}
    compressed = _stock(app, "respond").dumps(payload)
    assert compressed.startswith(".")
    assert tokens.load_case_token(compressed, "respond") == payload


def test_a_token_for_another_purpose_or_tampered_is_refused(app, world):
    case = make_case("complaint", world.d1)
    token = tokens.make_case_token(case, "respond")
    assert tokens.load_case_token(token, "feedback") is None
    assert tokens.load_case_token(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], "respond") is None
