"""The benchmark runner's arithmetic: the ceiling is the mean of its two measurements."""

from __future__ import annotations

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
    result = {"db": "postgres", "cases": 10_000, "ceiling": ceiling, "ceiling_compiled_per_request": old,
              "pages": {"case page": {"rps": 450.0, "median_ms": 30.0, "errors": 0,
                                      "ratio": run._ratio(450.0, ceiling["rps"]),
                                      "ratio_compiled_per_request": run._ratio(450.0, old["rps"])}},
              "sweep": {"seconds": 1.5, "due_before": 1000}, "rss_mb_per_worker": [80.0, 81.0]}
    text = run.table([result])
    assert "ceiling (bare Flask + Jinja, 50 rows) (before 1600, after 2000) | 1800 |" in text
    assert "| case page | 450 | 30.0 | 0.25 | 0.562 | ≥ 0.5× ceiling |" in text
