"""The market's parameters as a user meets them: YAML keys, --set keys, one-line errors, memory, per capita."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from sim.model.market import MarketModel
from sim.scenario import load_scenario
from sim.runs.resources import run_estimate
from tests.hardening_helpers import REPO, run_py

MARKET = REPO / "scenarios" / "market.yaml"


@pytest.mark.parametrize(("setting", "expected"), [
    ("market.pages=-1", "market.pages: must be between 0 and 10000000 (got -1)"),
    ("market.popularity_alpha=0", "market.popularity_alpha: must be > 0 and <= 100 (got 0)"),
    ("market.concentration=-2", "market.concentration: must be > 0 and <= 10000 (got -2)"),
    ("market.discover_rate=1.5", "market.discover_rate: must be between 0 and 1 (got 1.5)"),
    ("market.promo_share=-0.1", "market.promo_share: must be between 0 and 1 (got -0.1)"),
    ("source_diversity=0", "source_diversity: must be > 0 and <= 1 (got 0)"),
    ("annoy_base=2", "annoy_base: must be between 0 and 1 (got 2)"),
    ("market.pagez=3", "market.pagez: unknown key; did you mean 'pages'?"),
    ("firms.broadcast.ads_share=1.2", "firms.broadcast.ads_share: must be between 0 and 1 (got 1.2)"),
])  # fmt: skip
def test_bad_market_values_get_one_line_and_exit_2(tmp_path, setting, expected):
    done = run_py([MARKET, "--set", setting, "--out", tmp_path / "out"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: --set {expected}"]
    assert not (tmp_path / "out").exists()


def test_both_forms_of_a_firms_ads_or_budget_are_refused_in_one_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"market": {"pages": 10}, "firms": [
        {"name": "a", "preset": "broadcast", "ads_per_day": 100, "ads_share": 0.1}]}))  # fmt: skip
    done = run_py([path, "--out", tmp_path / "out"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {path}: firms[0].ads_share: give only one of ads_per_day and ads_share (got [100, 0.1])"]


def test_a_world_whose_edges_cannot_fit_is_refused_with_the_estimate(tmp_path):
    done = run_py([MARKET, "--set", "width=4000", "--set", "height=4000", "--set", "market.pages=500000",
                   "--out", tmp_path / "out"], cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "500,000 pages with their follow edges" in line and "needs about" in line and "GiB" in line
    assert "market.pages" in line
    # the estimate counts the edges: EDGE_BYTES per followed page and user at least
    from sim.model.pages import EDGE_BYTES

    market = load_scenario(MARKET, ["width=4000", "height=4000", "market.pages=500000"])
    part1 = load_scenario(MARKET, ["width=4000", "height=4000", "market.pages=0"])
    added = run_estimate(market.model_kwargs()).bytes - run_estimate(part1.model_kwargs()).bytes
    assert added > 16e6 * 109 * EDGE_BYTES


def test_per_capita_firms_mean_the_same_in_any_world():
    """ads = round(ads_share * N) (halves to even) and budget = budget_per_10k * N / 10,000."""
    firm = {"name": "f", "preset": "broadcast", "ads_share": 0.25, "budget_per_10k": 40.0}
    for width, height, ads, budget in ((30, 30, 225, 3.6), (10, 5, 12, 0.2), (100, 100, 2500, 40.0)):
        model = MarketModel(seed=1, width=width, height=height, steps=1, firms=[firm])
        assert model.firms[0].ads_per_day == ads and model.firms[0].budget == pytest.approx(budget)
    # the preset's absolute values stay when no per-capita value is given
    model = MarketModel(seed=1, width=10, height=10, steps=1, firms=[{"name": "f", "preset": "broadcast"}])
    assert (model.firms[0].ads_per_day, model.firms[0].budget) == (2000, 26.0)


def test_market_yaml_keys_and_set_keys_are_the_same(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"market": {"pages": 40, "friend_posts": 5}, "source_diversity": 0.5}))
    from_yaml = load_scenario(path)
    from_set = load_scenario(tmp_path / "m.yaml", ["market.pages=40", "market.friend_posts=5"])
    assert from_yaml == from_set
    assert from_yaml.market.pages == 40 and from_yaml.source_diversity == 0.5


def test_a_market_run_writes_the_market_tables_and_report_section(tmp_path):
    done = run_py([MARKET, "--set", "width=16", "--set", "height=16", "--set", "steps=21", "--set",
                   "market.pages=60", "--set", "record_events=true", "--replications", "3", "--out",
                   tmp_path / "out"], cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    for name in ("pages", "pages_weekly", "user_cascades", "events", "cascades"):
        assert (out / f"{name}.parquet").exists(), name
    import pandas as pd

    pages = pd.read_parquet(out / "pages.parquet")
    assert len(pages) == 3 * 62 and pages["is_firm"].sum() == 6
    weekly = pd.read_parquet(out / "pages_weekly.parquet")
    assert set(weekly["week"]) == {1, 2, 3}
    last_week = weekly[weekly["week"] == 3].set_index(["replication", "page"])["followers"]
    assert (last_week == pages.set_index(["replication", "page"])["followers_end"]).all()
    events = pd.read_parquet(out / "events.parquet")
    assert {"comment", "follow", "unfollow"} <= set(events["event"])
    report = (out / "report.md").read_text()
    assert "## The market" in report
    for figure in ("market_reach_per_post", "market_total_reach", "market_reach_by_size", "market_follower_change",
                   "market_unfollow_causes", "market_firm_position"):
        assert (out / "figures" / f"{figure}.png").exists() and f"figures/{figure}.png" in report
    cascades = pd.read_parquet(out / "user_cascades.parquet")
    assert (cascades["size"] >= 1).all() and np.isin(cascades["page_name"], pages["name"]).all()


def test_sweeps_studies_and_calibrations_vary_market_keys():
    """market.* keys, the levers and a firm's per-capita ads are sweep parameters (and so study and ABC ones)."""
    from sim.jobs.models import MarketSweepModel

    model = MarketSweepModel(load_scenario(MARKET).model_kwargs())
    assert model.parameter("market.pages").kind == "int" and model.parameter("source_diversity").gt == 0
    assert model.parameter("firms.broadcast.ads_share").le == 1
    config = model.config({"market.pages": 50, "market.discover_rate": 0.1, "firms.broadcast.ads_share": 0.2})
    assert config["market"]["pages"] == 50 and config["market"]["discover_rate"] == 0.1
    broadcast = config["firms"][0]
    assert broadcast["ads_share"] == 0.2 and "ads_per_day" not in broadcast  # the swept form replaces the other
    built = MarketModel(seed=1, **{**config, "width": 10, "height": 10, "steps": 1})
    assert built.firms[0].ads_per_day == 20 and built.market.pages.size == 50


def test_validate_takes_a_market_scenario(tmp_path):
    """validate computes its quantities over a market run (pages' posts included in the cascade table)."""
    done = run_py(["validate", MARKET, "--set", "width=12", "--set", "height=12", "--set", "steps=60", "--set",
                   "market.pages=30", "--replications", "3", "--out", tmp_path / "v"], cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    import pandas as pd

    values = pd.read_csv(tmp_path / "v" / "quantities.csv")
    assert values["organic_reach_per_post"].notna().all() and len(values) == 3


def test_a_job_files_override_of_one_form_replaces_the_other_form_of_a_resolved_firm():
    """Job files (sweep, study, calibration) put their overrides on the resolved scenario, where the preset's
    ads_per_day is spelt out: firms.broadcast.ads_share replaces it there, as it does on the command line and in
    a sweep; both forms given by overrides stay an error."""
    from sim.jobs.spec import JobError, JobFile, resolve_base

    duel = str(REPO / "scenarios" / "duel.yaml")
    spec = JobFile(name="j", scenario=duel, overrides={"firms.broadcast.ads_share": 0.2, "firms.dialogue.budget_per_10k": 30})
    base, _ = resolve_base(spec, "j.yaml")
    broadcast, dialogue = base["firms"]
    assert broadcast["ads_share"] == 0.2 and broadcast.get("ads_per_day") is None
    assert dialogue["budget_per_10k"] == 30 and dialogue.get("budget") is None
    both = JobFile(name="j", scenario=duel, overrides={"firms.broadcast.ads_share": 0.2, "firms.broadcast.ads_per_day": 5})
    with pytest.raises(JobError, match=r"j.yaml: overrides: firms\[0\].ads_share: give only one of ads_per_day and ads_share"):
        resolve_base(both, "j.yaml")
