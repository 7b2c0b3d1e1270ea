"""The benchmark runner's arithmetic: the ceiling is the mean of its two measurements."""

from __future__ import annotations

import pytest

from bench import run


def test_the_ceiling_is_the_mean_of_before_and_after_and_keeps_both():
    c = run._mean_of({"rps": 1600.0, "median_ms": 9.0, "errors": 0},
                     {"rps": 2000.0, "median_ms": 7.0, "errors": 1})
    assert c == {"rps": 1800.0, "median_ms": 8.0, "errors": 1, "before_rps": 1600.0, "after_rps": 2000.0}
    assert run._ratio(450.0, c["rps"]) == 0.25
    assert run._ratio(450.0, 0.0) is None


def test_the_table_shows_the_ceilings_drift_and_each_pages_ratio():
    ceiling = run._mean_of({"rps": 1600.0, "median_ms": 9.0}, {"rps": 2000.0, "median_ms": 7.0})
    old = run._mean_of({"rps": 700.0, "median_ms": 20.0}, {"rps": 900.0, "median_ms": 18.0})
    floor = run._mean_of({"rps": 850.0, "median_ms": 15.0}, {"rps": 950.0, "median_ms": 13.0})
    result = {"db": "postgres", "cases": 10_000, "ceiling": ceiling, "ceiling_compiled_per_request": old,
              "floor": floor,
              "pages": {"case page": {"rps": 450.0, "median_ms": 30.0, "errors": 0,
                                      "ratio": run._ratio(450.0, ceiling["rps"]),
                                      "ratio_compiled_per_request": run._ratio(450.0, old["rps"]),
                                      "ratio_floor": run._ratio(450.0, floor["rps"])}},
              "sweep": {"seconds": 1.5, "due_before": 1000}, "rss_mb_per_worker": [80.0, 81.0]}
    text = run.table([result])
    assert "ceiling (bare Flask + Jinja, 50 rows) (before 1600, after 2000) | 1800 | 8.0 | 1.0 | 2.25 | 2.0 |" in text
    assert "| floor: signed cookie + 2 plain SELECTs + the same table | 900 | 14.0 | 0.5 | 1.125 | 1.0 |" in text
    assert "| case page | 450 | 30.0 | 0.25 | 0.562 | 0.5 | ≥ 0.5× ceiling |" in text


def test_the_floor_page_needs_its_cookie_and_reads_the_database(app, world, monkeypatch):
    from bench import ceiling
    from tests.factories import make_case

    case = make_case("office_ticket", world.d1, actor=world.d1_op)
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setattr(ceiling, "_ENGINE", [])
    client = ceiling.app.test_client()
    try:
        assert client.get("/floor").status_code == 403
        assert client.get("/floor/cookie").status_code == 200
        page = client.get("/floor")
        assert page.status_code == 200
        assert f'href="/c/{case.reference}"' in page.get_data(as_text=True)
        # Like the portal, the floor compares the session token: signed out elsewhere, refused.
        from sqlalchemy import text

        with ceiling._ENGINE[0].begin() as conn:
            conn.execute(text('UPDATE "user" SET session_token = \'changed\' '
                              'WHERE id = (SELECT min(id) FROM "user")'))
        assert client.get("/floor").status_code == 403
    finally:
        for engine in ceiling._ENGINE:
            engine.dispose()


def test_the_ab_runner_reads_timings_and_instructions():
    from bench import ab

    out = ("case: 3.52 ms per request, 3.10 ms of it this process's CPU (2000 requests)\n"
           "PostgreSQL server processes: 0.380 ms CPU per request (1 connection(s); clock ticks of 10 ms)\n")
    assert ab.parse_timing(out) == {"ms": 3.52, "cpu_ms": 3.1, "server_ms": 0.38}
    assert ab.parse_timing(out.splitlines()[0]) == {"ms": 3.52, "cpu_ms": 3.1}
    assert ab.instructions_per_request(1_000_000, 1_200_000) == 10_000
    assert ab.medians([{"ms": 3.0, "cpu_ms": 2.0}, {"ms": 5.0, "cpu_ms": 2.5}, {"ms": 4.0, "cpu_ms": 9.0}]) == \
        {"cpu_ms": 2.5, "ms": 4.0}
    with pytest.raises(ValueError):
        ab.parse_timing("Traceback (most recent call last): ...")


def test_side_by_side_rounds_give_each_ratio_and_their_median():
    p = run._paired_summary([500.0, 450.0, 480.0], [1000.0, 1000.0, 800.0])
    assert p["ratios"] == [0.5, 0.45, 0.6]
    assert p["median"] == 0.5
    assert run._paired_summary([500.0], [0.0])["median"] is None
    text = run.paired_table([{"db": "sqlite", "cases": 1_000_000, "paired": {"case page": p}}])
    assert "| sqlite | 1,000,000 | case page | 500, 450, 480 | 1000, 1000, 800 | 0.5, 0.45, 0.6 | 0.5 |" in text
    assert run.paired_table([{"db": "sqlite", "cases": 10, "pages": {}}]) == ""
