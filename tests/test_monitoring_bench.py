"""The benchmark script runs end to end at a tiny size (the real run is 1,000,000 cases)."""

from __future__ import annotations

import os

from bench import dashboard_bench


def test_bench_seeds_and_times_the_dashboard(tmp_path, monkeypatch, app):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/bench.sqlite")
    result = dashboard_bench.main(["--cases", "200", "--runs", "1", "--circles", "2"])
    assert result["dialect"] == "sqlite" and result["cases"] == 200
    assert 0 < result["cases_in_circle"] < 200
    assert result["median_ms"] > 0
    # --reuse keeps the data when it already has the requested size.
    again = dashboard_bench.main(["--cases", "200", "--runs", "1", "--circles", "2", "--reuse"])
    assert again["seed_seconds"] == 0.0 and again["cases_in_circle"] == result["cases_in_circle"]
    assert os.path.exists(tmp_path / "bench.sqlite")
