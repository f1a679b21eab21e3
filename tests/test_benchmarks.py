"""The benchmarks run every stage and their cross-checks hold. Their figures are measured by
running them (docs/benchmarks.md), never asserted here: data is kept small."""

from __future__ import annotations

import pytest


def test_a_plain_pandas_implementation_agrees_with_the_marts_on_the_simulated_centre(
    truth_warehouse,
):
    """AHT, FCR and repeat rate written independently in pandas (the analyst's yardstick
    of issue #8) equal the marts' on the simulator's centre: transfers, reopens, abandons
    without a reason, callers known only by a phone number that changes."""
    from benchmarks.analyst import headline_metrics, mart_metrics

    marts, analyst = mart_metrics(truth_warehouse), headline_metrics(truth_warehouse)
    print(f"marts {marts}\npandas {analyst}")
    assert analyst == pytest.approx(marts, rel=1e-12)
    assert 0.3 < marts["fcr"] < 0.95 and 0.02 < marts["repeat_contact_rate"] < 0.6


def test_the_pipeline_benchmark_runs_every_stage_against_its_bare_equivalent(tmp_path):
    from benchmarks import pipeline

    result = pipeline.run(3000, 8, "parquet", tmp_path / "bench")
    names = [s.name for s in result.stages]
    assert names == [
        pipeline.INGEST,
        pipeline.GATES,
        pipeline.FULL,
        pipeline.PANDAS,
        pipeline.DAY_INGEST,
        pipeline.DAY_BUILD,
    ]
    for stage in result.stages:
        assert stage.seconds > 0, stage
    for name in (pipeline.INGEST, pipeline.GATES, pipeline.FULL):
        assert result.stage(name).bare.seconds > 0
    assert result.stage(pipeline.DAY_INGEST).rows > 0
    assert 0 < result.peak_gib < 24
    assert result.analyst == pytest.approx(result.marts, rel=1e-12)


def test_the_pipeline_benchmark_command_runs_without_the_pandas_yardstick(tmp_path, capsys):
    """``--no-pandas`` (for 100 M, where pandas cannot hold the raw tables) runs every
    pipeline stage and prints the marts' numbers without a cross-check."""
    from benchmarks import pipeline

    folder = tmp_path / "bench"
    args = ["--contacts", "2000", "--days", "5", "--no-pandas", "--dir", str(folder)]
    assert pipeline.main(args) == 0
    out = capsys.readouterr().out
    assert pipeline.PANDAS not in out and "÷ pandas" not in out
    assert pipeline.DAY_BUILD in out and "marts (no pandas cross-check)" in out
    assert not (folder / "2000-parquet").exists()  # removed without --keep
