"""The calibration's distance: log and linear misses, no weight from a band's width, stored bands, the known answer.

docs/calibration.md ("The distance") explains the choices these tests pin down.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.cli import quiet_pyabc
from sim.calibration.engine import run_abc
from sim.calibration.facts import LOG_FLOOR, MISSING_PENALTY, Band, FactsError, total_distance
from sim.calibration.posterior import history, weighted_quantile
from sim.calibration.sampler import serial_map
from sim.calibration.spec import CalibrationError, calibration_from_dict, differs
from sim.calibration.toy import NormalMean
from sim.calibration.validation_api import facts_table
from sim.scenario import ScenarioError
from sim.validation import load_facts

REPO = Path(__file__).resolve().parent.parent
LN10 = math.log(10)

quiet_pyabc()
warnings.filterwarnings("ignore", category=RuntimeWarning)


def width_distance(band: Band, value: float) -> float:
    """The distance before issue 21: the miss in units of the band's width (kept here to compare with)."""
    if value is None or not math.isfinite(value):
        return MISSING_PENALTY
    width = band.high - band.low
    return max(band.low - value, value - band.high, 0.0) / (width if width > 0 else (abs(band.low) or 1.0))


# -- the two scales -----------------------------------------------------------------


def test_a_log_fact_misses_by_the_log_of_the_factor_one_decade_is_ln_10():
    band = Band("rate", 0.001, 0.01, scale="log")
    assert band.distance(0.001) == band.distance(0.005) == band.distance(0.01) == 0.0
    assert band.distance(0.1) == pytest.approx(LN10)  # ten times the high edge: one decade
    assert band.distance(0.0001) == pytest.approx(LN10)  # a tenth of the low edge: one decade, the same pull
    assert band.distance(1.0) == pytest.approx(2 * LN10)
    assert band.distance(0.02) == pytest.approx(math.log(2))


def test_a_log_fact_at_or_below_zero_counts_the_floor_and_no_positive_value_counts_more():
    band = Band("rate", 0.001, 0.01, scale="log")
    floor = math.log(LOG_FLOOR)
    assert band.distance(0.0) == band.distance(-0.5) == pytest.approx(floor)  # finite: 3 decades
    assert band.distance(1e-12) == pytest.approx(floor)  # further than the floor: capped there
    assert band.distance(1e-5) == pytest.approx(2 * LN10) and 2 * LN10 < floor
    below = [band.distance(x) for x in (0.0, 1e-9, 1e-7, 1e-6, 1e-5, 1e-4, 5e-4, 0.001)]
    assert below == sorted(below, reverse=True)  # monotone: closer to the band, never further
    assert floor < MISSING_PENALTY  # a zero still ranks ahead of a quantity the run cannot compute
    assert band.distance(math.nan) == MISSING_PENALTY


def test_a_log_fact_with_low_edge_zero_has_no_lower_edge():
    band = Band("cascades_100", 0.0, 0.001, scale="log")
    assert band.distance(0.0) == band.distance(0.0005) == 0.0
    assert band.distance(0.01) == pytest.approx(LN10)


def test_a_linear_fact_misses_relative_to_the_bands_size_not_its_width():
    tail = Band("tail", 1.4, 2.0)  # width 0.6, size 2
    assert tail.distance(3.0) == pytest.approx(0.5)  # 1 above a band of size 2
    assert tail.distance(1.05) == pytest.approx(0.35 / 2.0)
    around_zero = Band("elasticity", -0.5, 0.5)  # a midpoint of 0 would make no unit; the size is 0.5
    assert around_zero.distance(1.0) == pytest.approx(1.0)
    assert Band("zero", 0.0, 0.0).distance(0.25) == pytest.approx(0.25)  # a band at 0: absolute miss


def test_near_the_band_the_scales_agree_to_first_order():
    """A value 10% above its band costs about 0.1 on either scale (ln 1.1 = 0.095)."""
    linear, log = Band("a", 0.5, 1.0), Band("b", 0.5, 1.0, scale="log")
    assert linear.distance(1.1) == pytest.approx(0.1)
    assert log.distance(1.1) == pytest.approx(math.log(1.1))
    assert abs(log.distance(1.1) / linear.distance(1.1) - 1) < 0.05


# -- no accidental weights ----------------------------------------------------------------


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_facts_with_the_same_relative_miss_pull_alike_whatever_their_band_widths(scale):
    """Band widths 0.001 and 0.2 (200 times apart), both missed by 10% of their high edge: the same distance.

    With the old width scaling the precise fact pulled 200 times harder; that ratio is asserted too, so this test
    names what it guards against."""
    precise = Band("precise", 0.999, 1.0, scale=scale)
    loose = Band("loose", 0.8, 1.0, scale=scale)
    assert precise.high - precise.low == pytest.approx((loose.high - loose.low) / 200)
    assert precise.distance(1.1) == pytest.approx(loose.distance(1.1)) and loose.distance(1.1) > 0
    assert width_distance(precise, 1.1) / width_distance(loose, 1.1) == pytest.approx(200)
    assert total_distance([precise, loose], {"precise": 1.1, "loose": 1.1}) == pytest.approx(2 * loose.distance(1.1))


def test_every_shipped_fact_missed_by_the_same_factor_costs_the_same():
    """The shipped table has no accidental weight. 10% above its band every fact costs 0.095 to 0.1; at a tenth of
    its low edge every log fact costs ln 10. The width scaling gave 0.10 to 0.38 for the first (the bands' widths
    relative to their size run from 0.26 to 1) and 0.14 to 1.38 over the log facts for the second."""
    bands = facts_table(None)
    above = {fact_id: band.distance(1.1 * band.high) for fact_id, band in bands.items()}
    assert all(math.log(1.1) - 1e-9 <= c <= 0.1 + 1e-9 for c in above.values()), above
    logs = [band for band in bands.values() if band.scale == "log" and band.low > 0]
    assert len(logs) >= 8 and all(band.distance(band.low / 10) == pytest.approx(LN10) for band in logs)
    old_above = [width_distance(band, 1.1 * band.high) for band in bands.values()]
    old_below = [width_distance(band, band.low / 10) for band in logs]
    assert max(old_above) / min(old_above) > 3.5 and max(old_below) / min(old_below) > 10  # what the widths did


# -- the facts table and stored bands ---------------------------------------------


def test_the_facts_table_carries_each_facts_scale_into_its_band():
    table = load_facts()
    bands = facts_table(None)
    assert {f.id: f.scale for f in table.facts} == {fact_id: b.scale for fact_id, b in bands.items()}
    assert bands["engagement_rate"].scale == "log" and bands["popularity_tail"].scale == "linear"
    assert "scale" in table.to_frame().columns


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"scale": "cubic"}, "facts[0].scale"),
        ({"scale": "log", "range": [-0.1, 0.2]}, "a log-scale fact needs 0 <= low and 0 < high"),
    ],
)
def test_a_bad_scale_in_a_facts_file_is_one_line(tmp_path, change, needle):
    import yaml

    raw = yaml.safe_load((REPO / "sim" / "validation" / "facts.yaml").read_text())
    raw["facts"] = [{**raw["facts"][0], **change}]
    path = tmp_path / "facts.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ScenarioError) as caught:
        load_facts(path)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_a_facts_file_without_scales_loads_linear(tmp_path):
    import yaml

    raw = yaml.safe_load((REPO / "sim" / "validation" / "facts.yaml").read_text())
    for fact in raw["facts"]:
        fact.pop("scale")
    path = tmp_path / "facts.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert {f.scale for f in load_facts(path).facts} == {"linear"}


CALIBRATION = {
    "name": "tiny", "scenario": str(REPO / "scenarios" / "duel.yaml"),
    "overrides": {"width": 8, "height": 8, "steps": 20},
    "facts": "default", "use_facts": ["organic_reach", "cascades_size_one"],
    "parameters": {"appeal_value": {"bounds": [0.02, 0.6]}}, "population": 4, "generations": 1, "seed": 1,
}  # fmt: skip


def test_stored_bands_without_a_scale_load_linear_and_are_not_resumed_with_the_new_distance():
    """A results folder from before issue 21 stored bands without scales: its calibration.yaml still loads (read as
    linear), but its history was sampled with the width-scaled distance, so the folder is not continued."""
    calibration = calibration_from_dict(CALIBRATION, "c.yaml")
    assert [b.scale for b in calibration.bands] == ["log", "linear"]
    stored = calibration.resolved_dict()
    assert [b["scale"] for b in stored["bands"]] == ["log", "linear"]
    assert calibration_from_dict(stored, "OUT/calibration.yaml").bands == calibration.bands  # round trip
    old = {**stored, "bands": [{k: v for k, v in b.items() if k != "scale"} for b in stored["bands"]]}
    loaded = calibration_from_dict(old, "OUT/calibration.yaml")
    assert [b.scale for b in loaded.bands] == ["linear", "linear"]
    assert [Band.from_dict(b).scale for b in old["bands"]] == ["linear", "linear"]
    assert differs(old, calibration) == 'bands[0].scale: null stored, "log" now'
    assert differs(stored, calibration) is None


def test_a_bad_stored_scale_is_one_line():
    stored = calibration_from_dict(CALIBRATION, "c.yaml").resolved_dict()
    bands = [{**stored["bands"][0], "scale": "log", "low": -1.0}]
    with pytest.raises(CalibrationError) as caught:
        calibration_from_dict({**stored, "bands": bands}, "OUT/calibration.yaml")
    assert "OUT/calibration.yaml: bands[0]: scale: log needs 0 <= low" in str(caught.value)
    with pytest.raises(FactsError):
        Band("x", 0.1, 0.2, scale="cubic")


# -- the known answer ------------------------------------------------------------------


def populations(db: Path) -> list[pd.DataFrame]:
    h = history(db)
    frames = []
    for t in range(h.max_t + 1):
        params, weights = h.get_distribution(t=t)
        distances = h.get_weighted_distances(t=t)["distance"].to_numpy()
        frames.append(params.assign(weight=weights, distance=distances).reset_index(drop=True))
    return frames


def toy_run(db: Path, band: Band, population: int, generations: int, seed: int = 3) -> None:
    toy = NormalMean()
    run_abc([toy.prior(-2.0, 4.0)], [band], toy, db, population, generations, None, seed, serial_map)


def test_the_toy_known_answer_gives_the_same_posterior_under_the_old_and_the_new_distance(tmp_path, monkeypatch):
    """On the toy's linear band [0.75, 1.25] the new distance is the old one times width / size = 0.5 / 1.25: every
    epsilon scales alike and the same particles are accepted, so at the same seed every generation holds the same
    particles with the same weights, bit for bit; only the stored distances differ, by that factor."""
    band = NormalMean.band()
    toy_run(tmp_path / "new.db", band, population=60, generations=4)
    monkeypatch.setattr(Band, "distance", width_distance)
    toy_run(tmp_path / "old.db", band, population=60, generations=4)
    new, old = populations(tmp_path / "new.db"), populations(tmp_path / "old.db")
    assert len(new) == len(old) == 4
    for a, b in zip(new, old):
        pd.testing.assert_frame_equal(a.drop(columns="distance"), b.drop(columns="distance"))
        np.testing.assert_allclose(a["distance"], b["distance"] * 0.5 / 1.25, rtol=1e-12)
    assert (new[-1]["distance"] > 0).any()  # outside the band too, where the two distances differ


def test_the_toy_known_answer_holds_on_the_log_scale(tmp_path):
    """The same band measured on the log scale (a value <= 0 counts the floor) changes the path, not the answer: the
    run reaches epsilon 0, where ABC is exact rejection on the band, and matches the analytic posterior within the
    tolerances of tests/test_calibration.py's known-answer test (about 3 Monte Carlo standard errors)."""
    toy = NormalMean()
    band = dataclasses.replace(toy.band(), scale="log")
    toy_run(tmp_path / "log.db", band, population=200, generations=6)
    last = populations(tmp_path / "log.db")[-1]
    assert history(tmp_path / "log.db").get_all_populations()["epsilon"].iloc[-1] == 0.0
    x, w = last["mu"].to_numpy(), last["weight"].to_numpy()
    mean = float(np.sum(w * x))
    sd = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
    exact_mean, exact_sd, (q05, q95) = toy.posterior(band)
    assert abs(mean - exact_mean) < 0.1
    assert abs(sd / exact_sd - 1) < 0.15
    assert abs(weighted_quantile(x, w, 0.05) - q05) < 0.25
    assert abs(weighted_quantile(x, w, 0.95) - q95) < 0.25
