"""The "The market" section of a market run's report.md, with its figures (MARKET_SPEC.md, "Why").

Each figure asks one of the published patterns the page market exists for:
does a page's reach per post fall with its own posting rate while its total
reach rises (HubSpot, Shareablee); does reach per post fall with page size;
who loses followers, and why; where do the two firms sit among the pages?
Pages are binned by their realised posts per day (log-spaced bins); a bin's
value is the median over its pages within a replication, and the figures
show the mean of those medians with a 95% t-interval across replications.
Each figure gets one sentence in this run's numbers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from sim.palette import firm_colours  # noqa: E402

BINS_PER_DECADE = 4
MIN_PAGES_PER_BIN = 5  # a bin with fewer pages in a replication is left out of that replication
CAUSES = ("unfollows_fatigue", "unfollows_negative", "unfollows_deleted")
CAUSE_LABELS = {"unfollows_fatigue": "fatigue", "unfollows_negative": "negative reaction",
                "unfollows_deleted": "deleted comment"}  # fmt: skip


def log_bins(values: pd.Series) -> np.ndarray:
    """Log-spaced bin edges covering the positive values, `BINS_PER_DECADE` a decade."""
    positive = values[values > 0]
    if positive.empty:
        return np.array([0.0, 1.0])
    low, high = np.floor(np.log10(positive.min()) * BINS_PER_DECADE), np.ceil(np.log10(positive.max()) * BINS_PER_DECADE)
    return 10 ** (np.arange(low, max(high, low + 1) + 1) / BINS_PER_DECADE)


def binned(pages: pd.DataFrame, x: str, y: str, edges: np.ndarray) -> pd.DataFrame:
    """Per bin of ``x``: mean over replications of the bin's median ``y``, its 95% t-interval, replications, pages."""
    data = pages[pages[x] > 0].dropna(subset=[y]).copy()
    data["bin"] = pd.cut(data[x], edges, labels=False, include_lowest=True)
    per_rep = data.groupby(["bin", "replication"]).agg(value=(y, "median"), n=(y, "size")).reset_index()
    per_rep = per_rep[per_rep["n"] >= MIN_PAGES_PER_BIN]
    rows = []
    for b, group in per_rep.groupby("bin"):
        values = group["value"].to_numpy()
        mean = float(values.mean())
        half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan
        centre = float(np.sqrt(edges[int(b)] * edges[int(b) + 1]))
        rows.append({"x": centre, "mean": mean, "low": mean - half, "high": mean + half,
                     "replications": len(values), "pages": int(group["n"].sum())})  # fmt: skip
    return pd.DataFrame(rows, columns=["x", "mean", "low", "high", "replications", "pages"])


def _band(ax, table: pd.DataFrame, label: str, colour: str = "#444444") -> None:
    if table.empty:
        return
    ax.plot(table["x"], table["mean"], "o-", color=colour, label=label)
    if table["low"].notna().any():
        ax.fill_between(table["x"], table["low"], table["high"], color=colour, alpha=0.2, linewidth=0)


def _firm_points(ax, pages: pd.DataFrame, x: str, y: str, colours: dict) -> None:
    firms = pages[pages["is_firm"]].groupby("name")[[x, y]].mean()
    for name, row in firms.iterrows():
        ax.plot(row[x], row[y], marker="*", markersize=14, linestyle="none", color=colours.get(name, "k"),
                label=f"{name} (firm, mean of replications)")  # fmt: skip


def _ratio_sentence(table: pd.DataFrame, what: str, unit: str) -> str:
    """'From the lowest to the highest bin ..., X fell/rose from a to b.'"""
    if len(table) < 2:
        return f"Too few pages per posting-rate bin to compare {what}."
    first, last = table.iloc[0], table.iloc[-1]
    direction = "fell" if last["mean"] < first["mean"] else "rose"
    return (f"From pages posting about {first['x']:.2g} a day to those posting about {last['x']:.2g}, the median "
            f"{what} {direction} from {first['mean']:.3g} to {last['mean']:.3g} {unit} "
            f"({last['mean'] / first['mean']:.2f} times).") if first["mean"] else ""  # fmt: skip


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def market_figures(folder: Path, pages: pd.DataFrame) -> dict[str, tuple[Path, str]]:
    """Write the market's figures into ``folder``; returns {key: (path, one sentence in this run's numbers)}."""
    folder.mkdir(parents=True, exist_ok=True)
    colours = firm_colours(pages.loc[pages["is_firm"], "name"].unique())
    background = pages[~pages["is_firm"]]
    rate_edges = log_bins(pages["posts_per_day"])
    out: dict[str, tuple[Path, str]] = {}

    def one_panel(key, x, y, edges, labels, what, unit, yscale="linear"):
        """A binned figure of background pages' ``y`` against ``x`` with the firms as stars; its sentence."""
        table = binned(background, x, y, edges)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        _band(ax, table, "background pages: median per bin, 95% interval across replications")
        _firm_points(ax, pages, x, y, colours)
        ax.set(xscale="log", yscale=yscale, **labels)
        ax.legend(fontsize=8)
        out[key] = (_save(fig, folder / f"{key}.png"), _ratio_sentence(table, what, unit))

    rate_label = "posts per day (realised)"
    one_panel("market_reach_per_post", "posts_per_day", "organic_reach_per_post", rate_edges,
              dict(xlabel=rate_label, ylabel="organic reach per post\n(share of followers)",
                   title="Reach per post against posting rate"), "organic reach per post", "of followers")
    one_panel("market_total_reach", "posts_per_day", "organic_reach_mean", rate_edges,
              dict(xlabel=rate_label, ylabel="organic reach a day (users)", title="Total daily reach against posting rate"),
              "daily organic reach", "users", yscale="log")
    one_panel("market_reach_by_size", "followers_mean", "organic_reach_per_post", log_bins(background["followers_mean"]),
              dict(xlabel="followers (daily mean)", ylabel="organic reach per post\n(share of followers)",
                   title="Reach per post against page size"), "organic reach per post", "of followers")
    path, sentence = out["market_reach_by_size"]
    out["market_reach_by_size"] = (path, sentence.replace("pages posting about", "pages with about").replace(
        " a day to those posting about", " followers to those with about"))  # fmt: skip

    data = pages.assign(follower_change=pages["followers_end"] - pages["followers_start"])
    data["relative_change"] = data["follower_change"] / data["followers_start"].where(data["followers_start"] > 0)
    bg = data[~data["is_firm"]]
    change_rate = binned(bg, "posts_per_day", "relative_change", rate_edges)
    promo_edges = np.linspace(0, 1, 6)
    promo = bg.assign(promo=bg["promo_share"].clip(1e-9, 1))
    change_promo = binned(promo, "promo", "relative_change", promo_edges)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    _band(axes[0], change_rate, "background pages")
    _firm_points(axes[0], data, "posts_per_day", "relative_change", colours)
    axes[0].set(xscale="log", xlabel="posts per day (realised)", ylabel="follower change over the run\n(share of start)",
                title="Follower change against posting rate")  # fmt: skip
    _band(axes[1], change_promo, "background pages")
    _firm_points(axes[1], data, "promo_share", "relative_change", colours)
    axes[1].set(xlabel="promo share", title="... and against promo share")
    for ax in axes:
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.legend(fontsize=8)
    high_promo = change_promo.iloc[-1]["mean"] if len(change_promo) else np.nan
    low_promo = change_promo.iloc[0]["mean"] if len(change_promo) else np.nan
    out["market_follower_change"] = (_save(fig, folder / "market_follower_change.png"), (
        f"Background pages in the least promotional bin changed their followers by {low_promo:+.1%} over the run, "
        f"those in the most promotional by {high_promo:+.1%}. "
        + _ratio_sentence(change_rate, "follower change", "(share of start)")))  # fmt: skip

    per_rep = pages.groupby(["replication", "is_firm"])[list(CAUSES)].sum()
    mean = per_rep.groupby("is_firm").mean()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.arange(len(CAUSES))
    for k, (is_firm, label) in enumerate(((False, "background pages"), (True, "firms"))):
        values = mean.loc[is_firm].to_numpy() if is_firm in mean.index else np.zeros(len(CAUSES))
        ax.bar(x + (k - 0.5) * 0.4, values, width=0.4, label=label, color=("#7f7f7f", "#d62728")[k])
    ax.set(xticks=x, xticklabels=[CAUSE_LABELS[c] for c in CAUSES], ylabel="unfollows over the run (mean of replications)",
           title="Unfollows by cause")  # fmt: skip
    ax.legend()
    bg_total = mean.loc[False].sum() if False in mean.index else 0.0
    shares = ", ".join(f"{CAUSE_LABELS[c]} {mean.loc[False, c] / bg_total:.0%}" for c in CAUSES) if bg_total else "none"
    out["market_unfollow_causes"] = (_save(fig, folder / "market_unfollow_causes.png"), (
        f"Background pages lost {bg_total:,.0f} followers a run on average (causes: {shares}); the firms lost "
        f"{mean.loc[True].sum() if True in mean.index else 0:,.0f}."))  # fmt: skip

    out["market_firm_position"] = firm_position(folder, pages, colours)
    return out


def firm_position(folder: Path, pages: pd.DataFrame, colours: dict) -> tuple[Path, str]:
    """The firms' percentile among background pages on four measures, per replication (mean shown)."""
    measures = {"organic_reach_mean": "organic reach a day", "organic_reach_per_post": "organic reach per post",
                "engagement_per_post": "engagement per post", "followers_end": "followers at the end"}  # fmt: skip
    rows = []
    for rep, group in pages.groupby("replication"):
        bg = group[~group["is_firm"]]
        for _, firm in group[group["is_firm"]].iterrows():
            for column in measures:
                values = bg[column].dropna().to_numpy()
                if values.size and pd.notna(firm[column]):
                    rows.append({"replication": rep, "firm": firm["name"], "measure": column,
                                 "percentile": 100.0 * float(np.mean(values < firm[column]))})  # fmt: skip
    table = pd.DataFrame(rows, columns=["replication", "firm", "measure", "percentile"])
    mean = table.groupby(["firm", "measure"])["percentile"].mean().unstack("measure")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    y = np.arange(len(measures))
    for k, firm in enumerate(mean.index):
        values = [mean.loc[firm].get(m, np.nan) for m in measures]
        ax.barh(y + (k - (len(mean) - 1) / 2) * 0.8 / max(1, len(mean)), values, height=0.8 / max(1, len(mean)),
                color=colours.get(firm, "k"), label=firm)  # fmt: skip
    ax.set(yticks=y, yticklabels=list(measures.values()), xlim=(0, 100), xlabel="percentile among background pages",
           title="The firms inside the market")  # fmt: skip
    ax.axvline(50, color="grey", linewidth=0.8)
    ax.legend()
    parts = [f"{firm} at percentile {mean.loc[firm].get('organic_reach_mean', np.nan):.0f} of daily organic reach and "
             f"{mean.loc[firm].get('organic_reach_per_post', np.nan):.0f} of reach per post" for firm in mean.index]  # fmt: skip
    return _save(fig, folder / "market_firm_position.png"), "Among the background pages: " + "; ".join(parts) + "."


CAPTIONS = {
    "market_reach_per_post": "Organic reach per post against the page's posting rate",
    "market_total_reach": "Total daily reach against posting rate",
    "market_reach_by_size": "Organic reach per post against page size",
    "market_follower_change": "Follower change over the run against posting rate and promo share",
    "market_unfollow_causes": "Unfollows by cause",
    "market_firm_position": "The firms' position inside the market",
}


def market_section(folder: Path, tables: dict) -> str:
    """Markdown of the report's "The market" section; writes its figures into ``folder`` (the run's figures/)."""
    pages = tables["pages"]
    n_pages = int((~pages["is_firm"]).sum() / max(1, pages["replication"].nunique()))
    lines = [
        "## The market",
        "",
        f"{n_pages:,} background pages beside the firms (MARKET_SPEC.md). Pages are binned by realised posts per "
        "day; a bin's value is the median over its pages in one replication, shown as the mean over replications "
        f"with a 95% t-interval (bins with fewer than {MIN_PAGES_PER_BIN} pages in a replication are left out). "
        "Stars mark the firms. Tables: `pages.parquet`, `pages_weekly.parquet`, `user_cascades.parquet`.",
        "",
    ]
    for key, (path, sentence) in market_figures(folder, pages).items():
        rel = Path("figures") / path.name
        lines += [f"### {CAPTIONS[key]}", "", sentence, "", f"![{key}]({rel.as_posix()})", ""]
    return "\n".join(lines)
