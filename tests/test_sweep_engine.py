"""The sweep engine on stand-in models: a known answer, failures, dead workers, refused changes.

The engine never looks inside a model, so SALib's Ishigami function (with
analytic Sobol' indices) and fault-injecting wrappers exercise everything
the attention market's sweeps rely on, in seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from sim.sweep.analysis import replication_noise
from sim.jobs.cluster import local_config
from sim.sweep.execute import run_sweep
from sim.jobs.models import Ishigami
from sim.sweep.report import build_report
from sim.sweep.spec import SweepError, sweep_from_dict
from sim.sweep.store import SweepFolder
from sim.sweep.testing import Faulty
from tests.sweep_helpers import ISHIGAMI

TOLERANCE = 0.05  # |estimate - analytic| for S1 and ST with N = 1024 base samples
GRID = {
    "name": "faults",
    "method": "grid",
    "replications": 1,
    "parameters": {"x1": {"values": [0.0, 1.0, 2.0, 3.0]}, "x2": {"values": [0.5]}, "x3": {"values": [0.25]}},
    "outputs": ["y"],
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One local cluster, configured as the sweep command configures its own, for the module."""
    import dask

    scratch = tmp_path_factory.mktemp("scratch")
    with dask.config.set(local_config(scratch)):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                          scheduler_kwargs={"dashboard": False}, silence_logs=50, local_directory=str(scratch)) as cluster:  # fmt: skip
            with Client(cluster) as c:
                yield c


def sweep_of(raw, model):
    return sweep_from_dict(raw, raw["name"], model=model)


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values(client, tmp_path):
    sweep, model = sweep_of(ISHIGAMI, Ishigami())
    outcome = run_sweep(sweep, model, tmp_path / "out", client=client, quiet=True, batch_rows=2000)
    assert (outcome.ok, outcome.failed, outcome.total) == (1024 * 5, 0, 1024 * 5)
    analysis, report = build_report(tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "analysis" / "sobol_y.csv")
    assert list(table.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    exact = Ishigami.analytic()
    np.testing.assert_allclose(table["S1"], exact["S1"], atol=TOLERANCE)
    np.testing.assert_allclose(table["ST"], exact["ST"], atol=TOLERANCE)
    assert (table["S1_conf"] > 0).all() and (table["ST_conf"] > 0).all()
    assert "used 1024 of 1024 Saltelli blocks (5120 runs)" in analysis.get("y").note
    assert (tmp_path / "out" / "figures" / "sobol_y.png").stat().st_size > 5000
    text = report.read_text()
    assert "| x1 |" in text and "figures/sobol_y.png" in text


def test_second_order_indices_when_asked(client, tmp_path):
    sweep, model = sweep_of(ISHIGAMI | {"name": "s2", "samples": 128, "second_order": True}, Ishigami())
    outcome = run_sweep(sweep, model, tmp_path / "out", client=client, quiet=True, batch_rows=2000)
    assert outcome.total == 128 * (2 * 3 + 2)
    build_report(tmp_path / "out")
    s2 = pd.read_csv(tmp_path / "out" / "analysis" / "sobol_y_S2.csv")
    assert list(s2.columns) == ["parameter_1", "parameter_2", "S2", "S2_conf"] and len(s2) == 3
    pairs = s2.set_index(["parameter_1", "parameter_2"])["S2"]
    assert pairs.idxmax() == ("x1", "x3"), "the only interaction of the Ishigami function is x1-x3"
    assert "Second-order indices" in (tmp_path / "out" / "report.md").read_text()


def test_morris_ranks_the_ishigami_parameters(client, tmp_path):
    raw = ISHIGAMI | {"name": "morris", "method": "morris", "samples": 40}
    sweep, model = sweep_of(raw, Ishigami())
    run_sweep(sweep, model, tmp_path / "out", client=client, quiet=True, batch_rows=2000)
    build_report(tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "analysis" / "morris_y.csv").set_index("parameter")
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(table.columns)
    # x3 acts only through its interaction with x1: its effects average out (mu ~ 0) but spread widely.
    assert table.loc["x3", "sigma"] > table.loc["x3", "mu_star"] * 0.9
    assert table.loc["x2", "mu_star"] > table.loc["x3", "mu_star"]
    assert (tmp_path / "out" / "figures" / "morris_y.png").exists()


def test_replication_noise_share_matches_the_noise_put_in():
    var = float(Ishigami.analytic()["variance"])
    rng = np.random.default_rng(0)
    x = rng.uniform(-math.pi, math.pi, size=(4000, 3))
    model, noise_sd = Ishigami(), math.sqrt(var / 3)  # noise is a quarter of the total variance
    rows = []
    for sample, point in enumerate(x):
        clean = Ishigami()({"x1": point[0], "x2": point[1], "x3": point[2]}, 0)["y"]
        for r in range(2):
            rows.append({"sample": sample, "status": "ok", "y": clean + noise_sd * rng.standard_normal()})
    assert model.noise == 0
    noise = replication_noise(pd.DataFrame(rows), ["y"]).set_index("output")
    assert noise.loc["y", "noise_share"] == pytest.approx(0.25, abs=0.03)
    assert noise.loc["y", "noise_share_of_means"] == pytest.approx((var / 3 / 2) / (var + var / 3 / 2), abs=0.03)


def test_a_failing_run_is_recorded_the_sweep_goes_on_and_retry_failed_runs_it_again(client, tmp_path):
    fixed = tmp_path / "fixed"
    model = Faulty(Ishigami(), raise_at={"x1": 1.0}, fixed_file=fixed)
    sweep, model = sweep_of(GRID, model)
    out = tmp_path / "out"
    first = run_sweep(sweep, model, out, client=client, quiet=True)
    assert (first.ok, first.failed) == (3, 1)
    runs = SweepFolder(out).read_runs().set_index("x1")
    assert runs.loc[1.0, "status"] == "failed" and np.isnan(runs.loc[1.0, "y"])
    assert runs.loc[1.0, "error"].startswith("InjectedFailure: injected failure at {'x1': 1.0")
    assert "Traceback" in runs.loc[1.0, "traceback"] and "raise InjectedFailure" in runs.loc[1.0, "traceback"]
    assert (runs.drop(index=1.0)["status"] == "ok").all()

    fixed.write_text("")
    again = run_sweep(sweep, model, out, client=client, quiet=True)
    assert (again.ok, again.failed, again.skipped) == (0, 0, 4), "failed runs are kept unless asked to retry"
    retried = run_sweep(sweep, model, out, client=client, quiet=True, retry_failed=True)
    assert (retried.ok, retried.failed, retried.skipped) == (1, 0, 3)
    runs = SweepFolder(out).read_runs()
    assert len(runs) == 4 and runs["run_id"].is_unique and (runs["status"] == "ok").all()
    assert runs.set_index("x1").loc[1.0, "y"] == pytest.approx(Ishigami()({"x1": 1.0, "x2": 0.5, "x3": 0.25}, 0)["y"])


def test_a_run_that_kills_its_worker_is_recorded_and_the_sweep_survives(tmp_path):
    """A worker process that dies mid-run (segfault, OOM killer) fails that run only."""
    model = Faulty(Ishigami(), kill_at={"x1": 2.0})
    sweep, model = sweep_of(GRID, model)
    outcome = run_sweep(sweep, model, tmp_path / "out", workers=2, quiet=True)
    assert (outcome.ok, outcome.failed) == (3, 1)
    runs = SweepFolder(tmp_path / "out").read_runs().set_index("x1")
    assert runs.loc[2.0, "status"] == "failed"
    error = runs.loc[2.0, "error"]
    assert error.startswith("KilledWorker: the worker process died every time it ran this run")
    assert "on 4 different workers" in error, "tried on 1 + allowed-failures (3) workers"
    assert (runs.drop(index=2.0)["status"] == "ok").all()
    assert not (tmp_path / "out" / "dask-scratch").exists(), "scratch space is removed with the cluster"


def test_a_changed_sweep_is_refused_not_mixed_in(client, tmp_path):
    sweep, model = sweep_of(GRID, Ishigami())
    out = tmp_path / "out"
    run_sweep(sweep, model, out, client=client, quiet=True)
    before = SweepFolder(out).read_runs()
    changed, _ = sweep_of({**GRID, "parameters": {**GRID["parameters"], "x2": {"values": [0.7]}}}, Ishigami())
    with pytest.raises(SweepError, match=r"holds the runs of a different sweep \(parameters\.x2\.values\[0\]: 0\.5 stored, 0\.7 now\)"):
        run_sweep(changed, model, out, client=client, quiet=True)
    more, _ = sweep_of({**GRID, "replications": 2}, Ishigami())
    with pytest.raises(SweepError, match="replications: 1 stored, 2 now"):
        run_sweep(more, model, out, client=client, quiet=True)
    reworded, _ = sweep_of({**GRID, "description": "same runs, new words"}, Ishigami())
    assert run_sweep(reworded, model, out, client=client, quiet=True).skipped == 4
    pd.testing.assert_frame_equal(SweepFolder(out).read_runs(), before)


def test_a_folder_that_is_not_a_sweep_is_refused(client, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    sweep, model = sweep_of(GRID, Ishigami())
    with pytest.raises(SweepError, match="exists and is not a sweep folder"):
        run_sweep(sweep, model, tmp_path / "out", client=client, quiet=True)
