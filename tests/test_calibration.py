"""Calibration: the engine on a known answer, seeds and worker counts, resume, parameter recovery, bad input.

Tolerances are stated where they are used. The toy simulator (`sim.calibration.toy`)
has an exact ABC posterior at epsilon 0; the market tests use worlds of a few
hundred users so they run in seconds.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.calibration.cli import quiet_pyabc
from sim.calibration.engine import Progress, run_abc, stored_generations
from sim.calibration.facts import Band, MISSING_PENALTY, total_distance
from sim.calibration.posterior import weighted_quantile
from sim.calibration.sampler import DaskMap, serial_map
from sim.calibration.simulator import MarketSimulator
from sim.calibration.spec import calibration_from_dict, load_calibration
from sim.calibration.toy import NormalMean
from sim.cli import main

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "scenarios" / "calibration" / "facebook_2013.yaml"

quiet_pyabc()
warnings.filterwarnings("ignore", category=RuntimeWarning)


def toy_run(db: Path, population=200, generations=4, seed=3, map_=serial_map, simulate=None, progress=None):
    toy = NormalMean()
    history = run_abc([toy.prior(-2.0, 4.0)], [toy.band()], simulate or toy, db, population, generations, None,
                      seed, map_, progress)  # fmt: skip
    return history


def last_population(db: Path) -> pd.DataFrame:
    from sim.calibration.posterior import history

    h = history(db)
    params, weights = h.get_distribution(t=h.max_t)
    frame = params.reset_index(drop=True)
    frame["weight"] = weights
    frame["distance"] = h.get_weighted_distances(t=h.max_t)["distance"].to_numpy()
    return frame


# -- distance -------------------------------------------------------------------


def test_band_distance_is_zero_inside_and_counts_relative_misses_outside():
    """Linear facts; the log scale and the invariance to band widths: tests/test_calibration_distance.py."""
    band = Band("x", 0.1, 0.3)
    assert band.distance(0.1) == band.distance(0.2) == band.distance(0.3) == 0.0
    assert band.distance(0.5) == pytest.approx(0.2 / 0.3)  # 0.2 above, the band's size 0.3
    assert band.distance(0.0) == pytest.approx(0.1 / 0.3)
    assert band.distance(float("nan")) == MISSING_PENALTY
    bands = [band, Band("y", 10, 20)]
    assert total_distance(bands, {"x": 0.5, "y": 5}) == pytest.approx(0.2 / 0.3 + 5 / 20)


# -- known answer -----------------------------------------------------------------


def test_abc_posterior_matches_the_analytic_posterior_of_a_normal_mean(tmp_path):
    """The run goes on until epsilon is 0, where ABC is exact rejection on the band. Tolerance: mean within 0.1
    (about 3 Monte Carlo standard errors at ESS ~ 170 and sd 0.52), sd within 15%, the 5% and 95% points within 0.25
    (3 standard errors of a tail quantile: sqrt(0.05 * 0.95 / 170) / density 0.2 = 0.08)."""
    toy = NormalMean()
    history = toy_run(tmp_path / "h.db", population=200, generations=6, seed=3)
    pop = last_population(tmp_path / "h.db")
    x, w = pop["mu"].to_numpy(), pop["weight"].to_numpy()
    mean = float(np.sum(w * x))
    sd = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
    exact_mean, exact_sd, (q05, q95) = toy.posterior(toy.band())
    assert history.get_all_populations()["epsilon"].iloc[-1] == 0.0  # exact rejection on the band at the end
    assert abs(mean - exact_mean) < 0.1
    assert abs(sd / exact_sd - 1) < 0.15
    assert abs(weighted_quantile(x, w, 0.05) - q05) < 0.25
    assert abs(weighted_quantile(x, w, 0.95) - q95) < 0.25


def test_analytic_posterior_of_the_toy_is_right():
    """The reference itself: the exact posterior's sd against a brute-force rejection sample."""
    toy = NormalMean()
    band = toy.band()
    rng = np.random.default_rng(0)
    mu = rng.uniform(-2, 4, 400_000)
    xbar = rng.normal(mu, toy.s)
    kept = mu[(xbar >= band.low) & (xbar <= band.high)]
    mean, sd, (q05, q95) = toy.posterior(band)
    assert abs(kept.mean() - mean) < 0.01
    assert abs(kept.std() - sd) < 0.01
    assert abs(np.quantile(kept, 0.05) - q05) < 0.02 and abs(np.quantile(kept, 0.95) - q95) < 0.02


# -- seeds, workers, resume -------------------------------------------------------


def test_same_seed_same_posterior_and_another_seed_another(tmp_path):
    a = last_population(toy_run(tmp_path / "a.db", population=40, generations=3) and tmp_path / "a.db")
    b = last_population(toy_run(tmp_path / "b.db", population=40, generations=3) and tmp_path / "b.db")
    c = last_population(toy_run(tmp_path / "c.db", population=40, generations=3, seed=4) and tmp_path / "c.db")
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["mu"].to_numpy(), c["mu"].to_numpy())


def test_one_and_two_dask_workers_give_the_same_posterior(tmp_path):
    from sim.jobs.cluster import local_client

    frames = []
    for workers in (1, 2):
        with local_client(workers, tmp_path / f"scratch{workers}") as client:
            assert len(client.scheduler_info()["workers"]) == workers
            toy_run(tmp_path / f"w{workers}.db", population=40, generations=3, map_=DaskMap(client))
        frames.append(last_population(tmp_path / f"w{workers}.db"))
    serial = toy_run(tmp_path / "serial.db", population=40, generations=3) and last_population(tmp_path / "serial.db")
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], serial)


class InterruptAfter:
    """The toy simulator, but Ctrl-C arrives at its ``after``-th call (within a generation)."""

    def __init__(self, after: int):
        self.toy, self.after, self.calls = NormalMean(), after, 0

    def __call__(self, params, seed):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return self.toy(params, seed)


def test_interrupt_and_resume_loses_and_redoes_no_generation(tmp_path):
    whole = tmp_path / "whole.db"
    toy_run(whole, population=30, generations=4)
    cut = tmp_path / "cut.db"
    with pytest.raises(KeyboardInterrupt):
        toy_run(cut, population=30, generations=4, simulate=InterruptAfter(100))  # gen 1 and 2 take 30 + ~45 calls
    stored = stored_generations(cut)
    assert 1 <= stored < 4
    before = last_population_at(cut, stored - 1)
    sampled = []
    progress = Progress(4, quiet=True)
    progress.on_generation = lambda t, n, evals, seconds: sampled.append(t)
    toy_run(cut, population=30, generations=4, progress=progress)
    assert sampled == list(range(stored, 4))  # only the missing generations ran, each once
    pd.testing.assert_frame_equal(last_population_at(cut, stored - 1), before)  # nothing stored was touched
    pd.testing.assert_frame_equal(last_population(cut), last_population(whole))  # same posterior as without the cut
    assert stored_generations(cut) == 4
    toy_run(cut, population=30, generations=4, progress=progress)  # finished: nothing more runs
    assert sampled == list(range(stored, 4))


def last_population_at(db: Path, t: int) -> pd.DataFrame:
    from sim.calibration.posterior import history

    params, weights = history(db).get_distribution(t=t)
    return params.assign(weight=weights).reset_index(drop=True)


# -- parameter recovery on the market -----------------------------------------------

TINY = {"width": 12, "height": 12, "steps": 40}
TRUTH = {"appeal_value": 0.1, "page_post_rate": 2.0}
RECOVERY_FACTS = ("organic_reach", "feed_read_share", "engagement_rate")


def self_facts(base: dict, truth: dict, runs: int, seed: int) -> list[Band]:
    """Bands around the model's own outputs at known values: the range of ``runs`` replications, widened by 10%."""
    from sim.calibration.validation_api import load_bands

    probe = MarketSimulator(base, load_bands("default", list(RECOVERY_FACTS)))
    values = pd.DataFrame([probe(truth, seed + r) for r in range(runs)])
    bands = []
    for band in probe.bands:
        low, high = values[band.id].min(), values[band.id].max()
        pad = 0.1 * (high - low) + 1e-9
        bands.append(Band(band.id, float(low - pad), float(high + pad), quantity=band.quantity))
    return bands


def recovery(tmp_path, overrides, truth, priors, population, generations, runs=6):
    from sim.calibration.posterior import posterior_frame, summary_frame

    raw = {"name": "recovery", "scenario": str(REPO / "scenarios" / "duel.yaml"), "overrides": overrides,
           "parameters": priors, "population": population, "generations": generations, "seed": 5}  # fmt: skip
    calibration = calibration_from_dict({**raw, "use_facts": list(RECOVERY_FACTS)}, "recovery")
    bands = self_facts(calibration.base, truth, runs, seed=100)
    calibration.bands = bands
    db = tmp_path / "history.db"
    run_abc(calibration.priors, bands, MarketSimulator(calibration.base, bands), db, population, generations,
            None, calibration.seed)  # fmt: skip
    summary = summary_frame(calibration, posterior_frame(calibration, db)).set_index("parameter")
    return summary


def test_parameter_recovery_tiny(tmp_path):
    """Facts made by the model at known values; each true value inside the 90% credible interval."""
    priors = {"appeal_value": {"bounds": [0.01, 0.6], "log": True}, "page_post_rate": {"bounds": [0.5, 5.0]}}
    summary = recovery(tmp_path, TINY, TRUTH, priors, population=24, generations=3)
    for key, value in TRUTH.items():
        assert summary.at[key, "ci_low"] <= value <= summary.at[key, "ci_high"], summary
    # and the data taught something: the intervals are narrower than the priors
    assert summary.at["appeal_value", "ci_high"] / summary.at["appeal_value", "ci_low"] < 0.6 / 0.01
    assert summary.at["page_post_rate", "ci_high"] - summary.at["page_post_rate", "ci_low"] < 4.5


@pytest.mark.slow
def test_parameter_recovery_realistic(tmp_path):
    """Four parameters on a 30 x 30 world over 120 days, 100 particles, 6 generations."""
    truth = {"appeal_value": 0.1, "page_post_rate": 2.0, "share_prob_value": 0.02, "fatigue_gain": 0.2}
    priors = {"appeal_value": {"bounds": [0.01, 0.6], "log": True}, "page_post_rate": {"bounds": [0.5, 5.0]},
              "share_prob_value": {"bounds": [0.002, 0.1], "log": True}, "fatigue_gain": {"bounds": [0.0, 0.5]}}  # fmt: skip
    summary = recovery(tmp_path, {"width": 30, "height": 30, "steps": 120}, truth, priors, 100, 6, runs=10)
    for key, value in truth.items():
        assert summary.at[key, "ci_low"] <= value <= summary.at[key, "ci_high"], summary


# -- files and the command line --------------------------------------------------------


def write(tmp_path, **changes) -> Path:
    raw = {"name": "tiny", "scenario": str(REPO / "scenarios" / "duel.yaml"), "overrides": {"width": 8, "height": 8, "steps": 20},
           "facts": "default", "use_facts": ["organic_reach", "feed_read_share"],
           "parameters": {"appeal_value": {"bounds": [0.02, 0.6]}, "page_post_rate": {"bounds": [0.5, 5]}},
           "population": 4, "generations": 2, "seed": 1, "predictive_draws": 2}  # fmt: skip
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    path = tmp_path / "calibration.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    return err[0]


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"parameters": {"appeal_valeu": {"bounds": [0.1, 0.2]}}}, "parameters.appeal_valeu: unknown parameter; did you mean 'appeal_value'?"),
        ({"parameters": {"firms.nobody.quality": {"bounds": [0.1, 0.2]}}}, "no firm named 'nobody'"),
        ({"parameters": {"seed": {"bounds": [1, 2]}}}, "'seed' is a run setting"),
        ({"parameters": {"trust0": {"bounds": [0.1, 1.5]}}}, "parameters.trust0: bounds: must lie in the allowed range, a number between 0 and 1 (got [0.1, 1.5])"),
        ({"parameters": {"trust0": {"bounds": [0.5, 0.1]}}}, "bounds: low must be below high"),
        ({"parameters": {"fatigue_gain": {"bounds": [0.0, 0.5], "log": True}}}, "a log-uniform prior needs bounds > 0"),
        ({"parameters": {"ranking": {"bounds": [0, 1]}}}, "cannot be calibrated"),
        ({"use_facts": ["organic_reach", "shown_share"]}, "use_facts: unknown fact id 'shown_share'"),
        ({"facts": "no/such/facts.yaml"}, "facts: no/such/facts.yaml: file not found"),
        ({"generations": None}, "generations: missing; give generations:"),
        ({"population": 1}, "population: must be between 2 and 1000000 (got 1)"),
        ({"overrides": {"seed": 3}}, "overrides.seed: a run setting"),
        ({"epsilon": 3}, "epsilon: unknown key"),
        ({"transition": "gaussian"}, "transition"),
    ],
)
def test_bad_calibration_files_stop_with_one_line_and_status_2(tmp_path, capsys, changes, expected):
    path = write(tmp_path, **changes)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    assert expected in error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_is_one_line_and_status_2(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--scheduler tcp://127.0.0.1:1: cannot reach the Dask scheduler" in error_line(capsys)


def test_shipped_calibration_is_valid():
    calibration = load_calibration(SHIPPED)
    assert 4 <= len(calibration.priors) <= 6
    assert calibration.generations and calibration.population >= 20
    assert "measured" in SHIPPED.read_text().lower()


def test_a_killed_session_stays_listed_and_its_generations_count_in_the_sampling_time(tmp_path, monkeypatch):
    """SIGKILL runs no ``finally``: the record a session writes when it starts must survive, and the
    report's sampling time must come from the generations themselves, not from finished sessions."""
    import json

    import sim.calibration.execute as execute

    path, out = write(tmp_path), tmp_path / "out"
    monkeypatch.setattr(execute, "record_session", lambda *args: None)  # as if killed: its end is never written
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-report"]) == 0
    monkeypatch.undo()
    sessions = json.loads((out / "metadata.json").read_text())["sessions"]
    assert len(sessions) == 1 and sessions[0]["finished_utc"] is None and sessions[0]["generations_before"] == 0
    assert main(["calibrate-report", str(out), "--workers", "1"]) == 0
    report = (out / "report.md").read_text()
    assert "over 1 session(s), 1 of them interrupted without a record of its end" in report
    assert "ended without a record (killed, or still running)" in report
    from sim.calibration.posterior import generations_frame

    wall = generations_frame(out / "history.db")["wall_time"].sum()  # the killed session's generations count
    assert wall > 0 and f"sampling wall time {wall / 60:.1f} min, the sum of the generations' own times" in report


def test_calibrate_end_to_end_resume_refuse_and_report(tmp_path, capsys):
    """A tiny calibration: outputs written, calibrated.yaml runnable, a second call resumes, a change is refused."""
    from sim.scenario import load_scenario

    path, out = write(tmp_path), tmp_path / "out"
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    for name in ("history.db", "posterior.parquet", "posterior_summary.csv", "calibrated.yaml", "report.md",
                 "figures/marginals.png", "figures/pairwise.png", "figures/epsilon_acceptance.png",
                 "figures/predictive_validation.png"):  # fmt: skip
        assert (out / name).exists(), name
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert list(posterior.columns) == ["generation", "appeal_value", "page_post_rate", "weight", "distance"]
    assert len(posterior) == 4 and posterior["weight"].sum() == pytest.approx(1.0)
    summary = pd.read_csv(out / "posterior_summary.csv")
    assert (summary["ci_low"] <= summary["median"]).all() and (summary["median"] <= summary["ci_high"]).all()
    scenario = load_scenario(out / "calibrated.yaml")
    assert scenario.appeal_value == pytest.approx(summary.set_index("parameter").at["appeal_value", "median"], rel=1e-5)
    assert scenario.width == 8
    report = (out / "report.md").read_text()
    assert "P(dialogue late reach > broadcast's)" in report and "crossover day" in report
    capsys.readouterr()
    # the same command again: nothing to do, nothing redone
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-report"]) == 0
    assert stored_generations(out / "history.db") == 2
    # a changed file is refused
    changed = write(tmp_path, seed=2)
    assert main(["calibrate", str(changed), "--out", str(out), "--quiet"]) == 2
    assert "holds a different calibration (seed: 1 stored, 2 now)" in error_line(capsys)
    # the report rebuilds from history.db alone
    (out / "report.md").unlink()
    assert main(["calibrate-report", str(out), "--workers", "1"]) == 0
    assert (out / "report.md").exists()
    capsys.readouterr()
    assert main(["calibrate-report", str(tmp_path)]) == 2
    assert "not a calibration folder" in error_line(capsys)


def test_degenerate_weights_are_flagged_and_healthy_ones_are_not():
    """A last generation whose effective sample size is under 10% of its particles gets a warning."""
    import pandas as pd

    from sim.calibration.report import weight_warning

    healthy = pd.DataFrame({"t": [0, 1], "particles": [200, 200], "ess": [200.0, 110.0]})
    assert weight_warning(healthy) is None
    at_the_edge = healthy.assign(ess=[200.0, 20.0])  # exactly 10%: not flagged
    assert weight_warning(at_the_edge) is None
    degenerate = healthy.assign(ess=[138.0, 2.2])
    text = weight_warning(degenerate)
    assert text is not None and "2.2 of 200 particles" in text and "generation 1 had 138" in text


def test_the_transition_key_picks_the_perturbation_kernel_and_enters_the_fingerprint(tmp_path):
    import pyabc

    from sim.calibration.engine import build_abc

    folders = [tmp_path / name for name in "abc"]
    for folder in folders:
        folder.mkdir()
    plain = load_calibration(write(folders[0], transition="normal"))
    unset = load_calibration(write(folders[1]))
    local = load_calibration(write(folders[2], transition="local"))
    assert unset.transition == "normal" and plain.fingerprint() == unset.fingerprint()  # old folders still match
    assert local.fingerprint() != plain.fingerprint()  # a stored normal-kernel run is not continued with another
    from sim.calibration.engine import LocalOrNormal

    for calibration, kind in ((plain, pyabc.MultivariateNormalTransition), (local, LocalOrNormal)):
        abc = build_abc(calibration.priors, calibration.bands, lambda p: {}, 10, None,
                        transition=calibration.transition)  # fmt: skip
        assert type(abc.transitions[0]) is kind
    assert isinstance(abc.transitions[0].local, pyabc.LocalTransition)  # pyabc's local kernel where particles allow
