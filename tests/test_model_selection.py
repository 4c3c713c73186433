"""Model selection: several structures calibrated together, known answers for their probabilities, the files.

Known answers: toy structures that differ only in the width of their prior
have exact ABC model probabilities at epsilon 0 (proportional to 1 / width,
`sim.calibration.toy.model_probabilities`); identical structures keep their
prior probabilities; facts made by one market structure at known values
give that structure most of the posterior. Tolerances are stated where used.
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
from sim.calibration.engine import run_abc, stored_generations
from sim.calibration.facts import Band
from sim.calibration.posterior import model_probabilities
from sim.calibration.sampler import DaskMap
from sim.calibration.simulator import MarketSimulator
from sim.calibration.spec import calibration_from_dict
from sim.calibration.toy import NormalMean
from sim.calibration.toy import model_probabilities as exact_probabilities
from sim.cli import main
from tests.test_calibration import InterruptAfter

REPO = Path(__file__).resolve().parent.parent
quiet_pyabc()
logging.getLogger("ABC").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", category=RuntimeWarning)


def toy_structures(db: Path, widths: list[tuple[float, float]], population: int, generations: int, seed: int = 3,
                   simulate=None, map_=None, progress=None):  # fmt: skip
    toy = NormalMean()
    priors = [[toy.prior(low, high)] for low, high in widths]
    kwargs = {"map_": map_} if map_ is not None else {}
    run_abc(priors, [toy.band()], [simulate or toy] * len(widths), db, population, generations, None, seed,
            progress=progress, **kwargs)  # fmt: skip
    return model_probabilities(db, [f"s{k}" for k in range(len(widths))])


def last(probabilities: pd.DataFrame) -> dict[str, float]:
    final = probabilities[probabilities["generation"] == probabilities["generation"].max()]
    return dict(zip(final["structure"], final["probability"]))


# -- known answers --------------------------------------------------------------------


def test_toy_structures_get_their_exact_abc_model_probabilities(tmp_path):
    """Priors 10 and 20 wide around the same band: exact P = 2/3 and 1/3; within 0.1 (about 3 standard errors
    of a population of 200) once epsilon has reached 0."""
    toy = NormalMean()
    widths = [(-4.0, 6.0), (-4.0, 16.0)]
    exact = exact_probabilities([toy.prior(*w) for w in widths], toy.band(), toy.s)
    assert exact == pytest.approx([2 / 3, 1 / 3])
    probabilities = toy_structures(tmp_path / "h.db", widths, population=200, generations=5)
    assert last(probabilities)["s0"] == pytest.approx(exact[0], abs=0.1)


def test_structures_that_cannot_be_told_apart_stay_near_their_prior(tmp_path):
    """Two identical toy structures: each generation's probabilities within 0.1 of 1/2."""
    probabilities = toy_structures(tmp_path / "h.db", [(-4.0, 6.0), (-4.0, 6.0)], population=200, generations=4)
    assert probabilities["generation"].nunique() >= 3
    assert np.abs(probabilities["probability"] - 0.5).max() < 0.1, probabilities


MARKET = {"width": 12, "height": 12, "steps": 30, "market.pages": 60, "attention_mean": 8}
FREE = {"appeal_value": {"bounds": [0.01, 0.6], "log": True}}


def test_facts_made_by_one_structure_give_it_most_of_the_posterior(tmp_path):
    """A market with strong source diversity against the same market without it, on facts made by the first at
    known values (the range of 6 runs, widened by 10%): the first gets at least 0.8 after two generations."""
    raw = {"name": "known", "use_facts": ["two_posts_a_day_likes", "organic_reach"], "generations": 3,
           "population": 30, "seed": 5, "structures": [
               {"name": "diversity", "scenario": "scenarios/market.yaml",
                "overrides": {**MARKET, "source_diversity": 0.1}, "parameters": FREE},
               {"name": "levers_off", "scenario": "scenarios/market.yaml", "overrides": MARKET, "parameters": FREE}]}  # fmt: skip
    calibration = calibration_from_dict(raw, "known")
    truth = calibration.structures[0]
    probe = MarketSimulator(truth.base, calibration.bands)
    made = pd.DataFrame([probe({"appeal_value": 0.1}, 100 + r) for r in range(6)])
    bands = []
    for band in calibration.bands:
        low, high = made[band.id].min(), made[band.id].max()
        bands.append(Band(band.id, low - 0.1 * (high - low), high + 0.1 * (high - low), quantity=band.quantity))
    db = tmp_path / "history.db"
    run_abc([s.priors for s in calibration.structures], bands,
            [MarketSimulator(s.base, bands) for s in calibration.structures], db, 30, 3, None, 5)  # fmt: skip
    probabilities = model_probabilities(db, ["diversity", "levers_off"])
    assert stored_generations(db) >= 2
    assert last(probabilities)["diversity"] >= 0.8, probabilities


# -- seeds, workers, resume -------------------------------------------------------------


def test_model_probabilities_do_not_depend_on_the_worker_count(tmp_path):
    from sim.jobs.cluster import local_client

    widths = [(-4.0, 6.0), (-4.0, 16.0)]
    serial = toy_structures(tmp_path / "serial.db", widths, population=40, generations=3)
    with local_client(2, tmp_path / "scratch") as client:
        two = toy_structures(tmp_path / "two.db", widths, population=40, generations=3, map_=DaskMap(client))
    pd.testing.assert_frame_equal(serial, two)


def test_an_interrupted_model_selection_resumes_to_the_same_probabilities(tmp_path):
    widths = [(-4.0, 6.0), (-4.0, 16.0)]
    whole = toy_structures(tmp_path / "whole.db", widths, population=30, generations=4)
    with pytest.raises(KeyboardInterrupt):
        toy_structures(tmp_path / "cut.db", widths, population=30, generations=4, simulate=InterruptAfter(50))  # generation 1 takes 30 calls
    assert 1 <= stored_generations(tmp_path / "cut.db") < 4
    resumed = toy_structures(tmp_path / "cut.db", widths, population=30, generations=4)
    pd.testing.assert_frame_equal(resumed, whole)


# -- the calibration file and its folder ---------------------------------------------------

TINY = {
    "name": "structures_tiny",
    "facts": "default",
    "use_facts": ["organic_reach", "engagement_rate"],
    "structures": [
        {"name": "part1", "scenario": "scenarios/duel.yaml", "overrides": {"width": 12, "height": 12, "steps": 30},
         "parameters": {"appeal_value": {"bounds": [0.005, 0.6], "log": True}}},
        {"name": "market_diversity", "scenario": "scenarios/market.yaml",
         "overrides": {"width": 12, "height": 12, "steps": 30, "market.pages": 60, "source_diversity": 0.5},
         "parameters": {"appeal_value": {"bounds": [0.005, 0.6], "log": True}}},
    ],
    "population": 20,
    "generations": 2,
    "seed": 1,
    "predictive_draws": 4,
}  # fmt: skip


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "structures.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_the_issues_example_file_writes_every_output_resumes_and_rebuilds_its_report(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    out = tmp_path / "out"
    assert main(["calibrate", str(write(tmp_path, TINY)), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    probabilities = pd.read_csv(out / "model_probabilities.csv")
    assert list(probabilities.columns) == ["generation", "structure", "probability"]
    assert sorted(probabilities["generation"].unique()) == [1, 2]
    sums = probabilities.groupby("generation")["probability"].sum()
    assert np.allclose(sums, 1.0)
    final = probabilities[probabilities["generation"] == 2].set_index("structure")["probability"]
    for name in ("part1", "market_diversity"):
        sub = out / "structures" / name
        assert (sub / "reachability.csv").is_file()
        if final.get(name, 0.0) > 0:
            for file in ("posterior.parquet", "posterior_summary.csv", "predictive.parquet",
                         "figures/marginals.png", "figures/predictive_validation.png"):  # fmt: skip
                assert (sub / file).is_file(), file
            assert (out / f"calibrated_{name}.yaml").is_file()
            posterior = pd.read_parquet(sub / "posterior.parquet")
            assert posterior["weight"].sum() == pytest.approx(1.0)
    assert (out / "figures" / "model_probabilities.png").is_file()
    report = (out / "report.md").read_text()
    assert "## Posterior probabilities of the structures" in report and "## Which facts each structure reaches" in report
    # the same command again: everything is stored, nothing runs, the probabilities stay
    capsys.readouterr()
    assert main(["calibrate", str(write(tmp_path, TINY)), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "model_probabilities.csv"), probabilities)
    (out / "report.md").unlink()
    assert main(["calibrate-report", str(out), "--workers", "1"]) == 0
    assert "## Posterior probabilities of the structures" in (out / "report.md").read_text()
    # a changed structure is refused, naming where it differs
    changed = {**TINY, "structures": [TINY["structures"][0], {**TINY["structures"][1], "name": "renamed"}]}
    assert main(["calibrate", str(write(tmp_path, changed)), "--workers", "1", "--out", str(out)]) == 2
    assert "structures[1].name" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"structures": [TINY["structures"][0], TINY["structures"][0]]}, "structures: each name once (got part1 twice)"),
        ({"parameters": {"appeal_value": {"bounds": [0.01, 0.5]}}}, "parameters: a calibration with structures: gives each"),
        ({"structures": [{**TINY["structures"][0], "parameters": {"apeal_value": {"bounds": [0.01, 0.5]}}}]},
         "structures[0] (part1): parameters.apeal_value: unknown parameter; did you mean 'appeal_value'?"),
        ({"structures": [{**TINY["structures"][0], "name": "a/b"}]}, "structures[0].name: must start with a letter"),
        ({"structures": [{**TINY["structures"][0], "overrides": {"width": 12, "height": 12, "steps": 20}}],
          "use_facts": ["unfollow_share"]}, "the base world of part1 runs 20 days"),
    ],
)  # fmt: skip
def test_bad_structures_stop_with_one_line_and_status_2(tmp_path, capsys, monkeypatch, change, expected):
    monkeypatch.chdir(REPO)
    assert main(["calibrate", str(write(tmp_path, {**TINY, **change})), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1, err


def test_the_local_kernel_gives_way_to_the_normal_one_for_a_thin_structure():
    """16 dimensions, 40 particles: local covariances from ~17 neighbours are near-singular (their densities
    overflowed in the shipped run), so the normal kernel moves them; 200 particles in 3 dimensions: the local
    kernel, draw for draw."""
    import pyabc

    from sim.calibration.engine import LOCAL_FRACTION, LocalOrNormal

    rng = np.random.default_rng(0)
    thin = pd.DataFrame(rng.normal(size=(40, 16)), columns=[f"p{i}" for i in range(16)])
    kernel = LocalOrNormal()
    kernel.fit(thin, np.full(40, 1 / 40))
    assert kernel.active is kernel.normal
    np.random.seed(2)
    assert np.isfinite(kernel.pdf(kernel.rvs_single()))
    wide = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    kernel.fit(wide, np.full(200, 1 / 200))
    reference = pyabc.LocalTransition(k_fraction=LOCAL_FRACTION)
    reference.fit(wide, np.full(200, 1 / 200))
    assert kernel.active is kernel.local
    np.random.seed(1)
    ours = kernel.rvs_single()
    np.random.seed(1)
    theirs = reference.rvs_single()
    assert dict(ours) == dict(theirs)
    assert kernel.pdf(ours) == reference.pdf(ours)


# -- defensive importance sampling ---------------------------------------------------------


def test_a_defensive_share_of_prior_proposals_keeps_the_toys_exact_posterior(tmp_path):
    """The weights stay right with a fifth of the proposals from the prior: the toy's posterior at epsilon 0
    within the tolerances of test_calibration.py's known-answer test (mean 0.1, sd 15%)."""
    from sim.calibration.posterior import history

    toy = NormalMean()
    db = tmp_path / "h.db"
    run_abc([toy.prior(-2.0, 4.0)], [toy.band()], toy, db, 200, 6, None, 3, defensive=0.2)
    h = history(db)
    params, w = h.get_distribution(m=0, t=h.max_t)
    x = params["mu"].to_numpy()
    mean = float(np.sum(w * x))
    sd = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
    exact_mean, exact_sd, _ = toy.posterior(toy.band())
    assert h.get_all_populations()["epsilon"].iloc[-1] == 0.0
    assert abs(mean - exact_mean) < 0.1 and abs(sd / exact_sd - 1) < 0.15


def test_defensive_proposals_keep_the_weights_of_a_thin_cloud_in_16_dimensions_even():
    """50 uniform particles in a 16-dimensional box: importance weights prior / proposal of 300 proposals have an
    effective share of about 0.03 with the normal kernel alone; with a fifth from the prior, above 0.3 (weights
    bounded by 1 / 0.2); the proposal density is the stated mixture."""
    import pyabc

    from sim.calibration.engine import Defensive

    d, n = 16, 50
    rng = np.random.default_rng(0)
    cloud = pd.DataFrame(rng.random((n, d)), columns=[f"p{i}" for i in range(d)])
    prior = pyabc.Distribution(**{c: pyabc.RV("uniform", 0, 1) for c in cloud.columns})
    shares = {}
    for alpha in (0.0, 0.2):
        kernel = Defensive(pyabc.MultivariateNormalTransition(), prior, alpha) if alpha else pyabc.MultivariateNormalTransition()
        kernel.fit(cloud, np.full(n, 1 / n))
        np.random.seed(1)
        draws = []
        while len(draws) < 300:  # pyabc redraws proposals outside the prior
            x = kernel.rvs_single()
            if prior.pdf(x) > 0:
                draws.append(x)
        weights = np.array([prior.pdf(x) / kernel.pdf(x) for x in draws])
        shares[alpha] = weights.sum() ** 2 / np.sum(weights**2) / len(weights)
        if alpha:
            assert weights.max() <= 1 / alpha + 1e-9
            inner = kernel.inner
            assert kernel.pdf(draws[0]) == pytest.approx(0.8 * inner.pdf(draws[0]) + 0.2 * prior.pdf(draws[0]))
    assert shares[0.0] < 0.1 and shares[0.2] > 0.3, shares


def test_the_report_says_plainly_whether_a_structure_meets_every_band():
    from sim.calibration.selection import all_met_sentence

    def out(met, total, missed):
        return {"joint": {"most_facts_met": met, "facts": total, "missed_by_best": missed}}

    none = {"a": out(5, 7, ["x", "y"]), "b": out(6, 7, ["z"])}
    assert all_met_sentence(none) == "**No structure meets every band.** The closest is b: 6 of 7 facts at once; " \
                                     "out of reach together with the others: z."
    assert all_met_sentence({**none, "c": out(7, 7, [])}) == "**c met every band with one particle.**"


def test_joint_reach_counts_the_facts_one_particle_meets_together(tmp_path):
    """Two toy facts read from one simulated mean: the band [0.75, 1.25] and a band no value reaches."""
    from sim.calibration.engine import run_abc as run
    from sim.calibration.posterior import joint_reach

    toy = NormalMean()
    bands = [toy.band(), Band("never", 50.0, 60.0, quantity="toy")]

    def simulate(params, seed):
        value = toy(params, seed)["xbar"]
        return {"xbar": value, "never": value}

    db = tmp_path / "h.db"
    run([toy.prior(-2.0, 4.0)], bands, simulate, db, 100, 1, None, 3)  # the prior sample: about 1 in 10 inside
    calibration = calibration_from_dict({"name": "t", "scenario": "scenarios/duel.yaml", "parameters":
                                         {"appeal_value": {"bounds": [0.01, 0.5]}}, "generations": 1}, "t")  # fmt: skip
    calibration.bands = bands
    joint = joint_reach(calibration, db)
    from sim.calibration.posterior import history

    inside = sum(0.75 <= s["xbar"] <= 1.25 for s in history(db).get_weighted_sum_stats_for_model(m=0, t=0)[1])
    assert inside > 0
    assert joint["particles"] == 100 and joint["most_facts_met"] == 1 and joint["missed_by_best"] == ["never"]
    assert joint["particles_meeting_most"] == inside
