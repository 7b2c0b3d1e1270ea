from tests.factories import make_case


def test_landing_page(client):
    r = client.get("/")
    assert r.status_code == 200
    assert b"Staff sign-in" in r.data


def test_login_and_home(client, auth, world):
    r = auth.login(world.d1_op.login_id)
    assert r.status_code == 302
    r = client.get("/")
    assert r.status_code == 200
    assert world.d1.name.encode() in r.data


def test_case_page(client, auth, world):
    case = make_case("service_request", world.d1)
    auth.login(world.d1_op.login_id)
    r = client.get(f"/cases/{case.reference}")
    assert r.status_code == 200, r.data
    assert case.reference.encode() in r.data
