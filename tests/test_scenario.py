"""Tests of sim/scenario/: schema defaults, presets, validation messages, YAML, overrides."""

from __future__ import annotations

import math

import annotated_types
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario import (
    PRESETS,
    FirmParams,
    FirmSpec,
    ModelConfig,
    ModelParams,
    Scenario,
    ScenarioError,
    apply_overrides,
    load_scenario,
    scenario_hash,
    validate_config,
)

# Written out by hand from docs/MODEL_SPEC.md, "Parameters" (not derived from the code).
SPEC_DEFAULTS = {
    "width": 100,
    "height": 100,
    "steps": 365,
    "attention_mean": 30,
    "attention_sigma": 0.5,
    "pages_followed": 109,
    "page_post_rate": 0.5,
    "weak_ties": 16,
    "home_radius": 10,
    "home_follow_prob": 0.5,
    "initial_follow_prob": 0.02,
    "trust0": 0.3,
    "follower_trust_bonus": 0.2,
    "cost_post": 1.0,
    "cost_reply": 0.1,
    "cost_ad": 0.01,
    "ranking": "engagement",
    "weight_promo": 1,
    "weight_value": 1,
    "weight_ad": 1,
    "weight_share": 2,
    "weight_reply": 4,
    "appeal_promo": 0.04,
    "appeal_value": 0.3,
    "appeal_ad": 0.02,
    "appeal_reply": 0.6,
    "share_boost": 2.0,
    "share_annoy": 0.5,
    "annoy_promo": 0.3,
    "annoy_value": 0.05,
    "annoy_ad": 0.5,
    "comment_prob": 0.2,
    "neg_comment_prob": 0.5,
    "post_lifetime": 7,
    "share_prob_promo": 0.03,
    "share_prob_value": 0.05,
    "share_prob_ad": 0.01,
    "fatigue_decay": 0.05,
    "fatigue_gain": 0.15,
    "tolerance": 3.0,
    "load_value": 0.3,
    "load_share": 0.5,
    "reply_relief": 0.2,
    "trust_pos": 0.03,
    "trust_reply": 0.15,
    "trust_neg": 0.05,
    "trust_deleted": 0.3,
    "trust_drift": 0.005,
    "follow_prob": 0.2,
    "unfollow_threshold": 0.7,
    "unfollow_neg_prob": 0.1,
    "unfollow_deleted_prob": 0.5,
}

# Written out by hand from MARKET_SPEC.md, "Parameters": the model-wide levers and baseline annoyance ...
MARKET_SPEC_MODEL_WIDE = {
    "quality_ranking": 0,
    "complaint_ranking": 0,
    "quality_memory": 0.1,
    "quality_prior": 100,
    "source_diversity": 1,
    "annoy_base": 0,
}
# ... and the `market` block
MARKET_SPEC_BLOCK = {
    "pages": 0,
    "popularity_alpha": 1.0,
    "post_rate_sigma": 1.0,
    "promo_share": 0.5,
    "quality": 0.5,
    "concentration": 4,
    "friend_posts": 20,
    "weight_friend": 1,
    "discover_rate": 0.02,
}
SWITCHES = {"record_events", "market"}  # the optional event log and the market block itself
PER_CAPITA = {"ads_share", "budget_per_10k"}  # MARKET_SPEC.md, ads per capita: instead of ads_per_day, budget

SPEC_PRESETS = {
    "broadcast": {
        "posts_per_day": 6,
        "promo_share": 0.9,
        "quality": 0.3,
        "ads_per_day": 2000,
        "reply_rate": 0.0,
        "delete_critics": 0.5,
        "budget": 26,
    },
    "dialogue": {
        "posts_per_day": 1,
        "promo_share": 0.33,
        "quality": 0.7,
        "ads_per_day": 0,
        "reply_rate": 0.9,
        "delete_critics": 0.0,
        "budget": 26,
    },
}

COUNT_FIELDS = {"width", "height", "steps", "weak_ties", "home_radius", "post_lifetime"}


def error_of(raw, cls=Scenario, source="s.yaml") -> str:
    """The message of the ScenarioError that validating ``raw`` raises (fails if none)."""
    with pytest.raises(ScenarioError) as info:
        validate_config(raw, source, cls)
    message = str(info.value)
    assert "\n" not in message
    assert "pydantic" not in message.lower() and "validation error" not in message.lower()
    return message


def bounds(model, name):
    """(ge, gt, le, lt) of a field, read from its metadata."""
    found = {"ge": None, "gt": None, "le": None, "lt": None}
    for meta in model.model_fields[name].metadata:
        for key in found:
            if isinstance(meta, getattr(annotated_types, key.capitalize())):
                found[key] = getattr(meta, key)
    return found


def number_text(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# ---------------------------------------------------------------- defaults


def test_model_params_cover_exactly_the_spec_table():
    assert set(ModelParams.model_fields) == set(SPEC_DEFAULTS) | set(MARKET_SPEC_MODEL_WIDE) | SWITCHES


def test_market_block_covers_exactly_the_market_spec_table():
    market = Scenario().market
    assert set(type(market).model_fields) == set(MARKET_SPEC_BLOCK) | {"weekly"}
    assert {name: getattr(market, name) for name in MARKET_SPEC_BLOCK} == MARKET_SPEC_BLOCK
    assert market.weekly is True and Scenario().record_events is False


@pytest.mark.parametrize("name", sorted(SPEC_DEFAULTS | MARKET_SPEC_MODEL_WIDE))
def test_default_equals_spec(name):
    value = getattr(Scenario(), name)
    assert value == (SPEC_DEFAULTS | MARKET_SPEC_MODEL_WIDE)[name]
    if name in COUNT_FIELDS:
        assert type(value) is int
    elif name != "ranking":
        assert type(value) is float


def test_every_parameter_has_a_description_and_valid_default():
    for name, field in ModelParams.model_fields.items():
        assert field.description, name
    # the defaults themselves pass validation (validate_default is off in pydantic)
    assert validate_config(dict(SPEC_DEFAULTS), "spec") == Scenario()


def test_presets_equal_spec_columns():
    assert PRESETS == SPEC_PRESETS
    for preset in PRESETS.values():
        assert set(preset) == set(FirmParams.model_fields) - PER_CAPITA
        assert "home" not in preset


def test_default_firms_are_the_two_spec_firms():
    firms = Scenario().firms
    assert [(f.name, f.preset, f.home) for f in firms] == [
        ("broadcast", "broadcast", None),
        ("dialogue", "dialogue", None),
    ]
    for firm in firms:
        assert firm.model_dump(include=set(FirmParams.model_fields) - PER_CAPITA) == SPEC_PRESETS[firm.preset]
        assert firm.ads_share is None and firm.budget_per_10k is None


def test_run_settings_defaults():
    s = Scenario()
    assert (s.name, s.description, s.seed, s.replications) == ("scenario", "", 42, 1)


# ---------------------------------------------------------------- presets and firms


def test_preset_with_override_keeps_rest_of_preset():
    s = validate_config(
        {"firms": [{"name": "b", "preset": "broadcast", "ads_per_day": 0, "quality": 0.9}]}, "t"
    )
    firm = s.firms[0]
    assert firm.ads_per_day == 0 and firm.quality == 0.9
    for key in ("posts_per_day", "promo_share", "reply_rate", "delete_critics", "budget"):
        assert getattr(firm, key) == SPEC_PRESETS["broadcast"][key]


def test_firm_without_preset_needs_every_field():
    full = {"name": "f", **SPEC_PRESETS["dialogue"]}
    assert FirmSpec.model_validate(full).preset is None
    partial = dict(full)
    del partial["reply_rate"]
    message = error_of({"firms": [partial]})
    assert message.startswith("s.yaml: firms[0].preset: missing") and "(missing: reply_rate)" in message


def test_firm_name_required_and_pattern():
    assert "firms[0].name: missing" in error_of({"firms": [{"preset": "dialogue"}]})
    message = error_of({"firms": [{"name": "my firm", "preset": "dialogue"}]})
    assert "firms[0].name:" in message and "'my firm'" in message


def test_unknown_preset_rejected_with_choices():
    message = error_of({"firms": [{"name": "a", "preset": "broadcst"}]})
    assert message.startswith("s.yaml: firms[0].preset: ")
    assert "'broadcast'" in message and "'dialogue'" in message and "(got 'broadcst')" in message


def test_duplicate_firm_names_rejected():
    message = error_of(
        {"firms": [{"name": "a", "preset": "dialogue"}, {"name": "a", "preset": "broadcast"}]}
    )
    assert message.startswith("s.yaml: firms[1].name: duplicate")


@pytest.mark.parametrize("home", [[10, 5], [-1, 0], [0, 10], [3, -2]])
def test_home_outside_grid_rejected(home):
    raw = {
        "width": 10,
        "height": 10,
        "weak_ties": 0,
        "firms": [{"name": "a", "preset": "dialogue", "home": [9, 9]}, {"name": "b", "preset": "broadcast", "home": home}],
    }
    message = error_of(raw)
    assert message.startswith("s.yaml: firms[1].home: ")
    assert "10" in message and f"(got {home})" in message


def test_home_inside_grid_accepted_as_tuple():
    s = validate_config({"firms": [{"name": "a", "preset": "dialogue", "home": [0, 99]}]}, "t")
    assert s.firms[0].home == (0, 99)


def test_home_must_be_pair_of_ints():
    base = {"name": "a", "preset": "dialogue"}
    assert "firms[0].home" in error_of({"firms": [{**base, "home": [1, 2, 3]}]})
    assert "firms[0].home[1]: must be an integer" in error_of({"firms": [{**base, "home": [1, 2.5]}]})


def test_at_least_one_firm():
    assert error_of({"firms": []}).startswith("s.yaml: firms: ")


def test_weak_ties_limited_by_grid():
    message = error_of({"width": 4, "height": 4, "weak_ties": 8})
    assert message.startswith("s.yaml: weak_ties: must be <= ") and "7" in message
    assert validate_config({"width": 4, "height": 4, "weak_ties": 7}, "t").weak_ties == 7


# ---------------------------------------------------------------- unknown keys


def test_unknown_top_level_key_suggests_closest():
    assert error_of({"attention_mena": 3}) == (
        "s.yaml: attention_mena: unknown key; did you mean 'attention_mean'?"
    )


def test_unknown_firm_key_suggests_closest_firm_field():
    message = error_of({"firms": [{"name": "a", "preset": "dialogue", "ads_per_dya": 3}]})
    assert message == "s.yaml: firms[0].ads_per_dya: unknown key; did you mean 'ads_per_day'?"


def test_unknown_key_without_close_match_suggests_nothing():
    assert error_of({"zzzzqqq": 1}) == "s.yaml: zzzzqqq: unknown key"


def test_firm_field_at_top_level_is_unknown_in_model_config():
    # the model receives ModelConfig kwargs; run settings are not model parameters
    assert "seed: unknown key" in error_of({"seed": 3}, cls=ModelConfig)


def test_several_errors_are_reported_at_once_one_line_each():
    with pytest.raises(ScenarioError) as info:
        validate_config({"trust0": 2.0, "steps": 0, "bogus": 1}, "s.yaml")
    lines = str(info.value).splitlines()
    assert lines == [
        "s.yaml: steps: must be between 1 and 100000 (got 0)",
        "s.yaml: trust0: must be between 0 and 1 (got 2.0)",
        "s.yaml: bogus: unknown key",
    ]


# ---------------------------------------------------------------- ranges and types (hypothesis)

MODEL_NUMERIC = [n for n in ModelParams.model_fields if n != "ranking" and n not in SWITCHES]
FIRM_NUMERIC = list(FirmParams.model_fields)
FIRM_COUNTS = {"ads_per_day"}


def out_of_range_cases():
    """(model, field, bad value) just outside each bound."""
    cases = []
    for model, names in ((ModelParams, MODEL_NUMERIC), (FirmParams, FIRM_NUMERIC)):
        for name in names:
            b = bounds(model, name)
            is_count = name in COUNT_FIELDS or name in FIRM_COUNTS
            step = 1 if is_count else 1e-9
            if b["ge"] is not None:
                cases.append((model, name, b["ge"] - step))
            if b["gt"] is not None:
                cases.append((model, name, b["gt"]))
                cases.append((model, name, b["gt"] - step))
            if b["le"] is not None:
                cases.append((model, name, b["le"] + step))
    return cases


OUT_OF_RANGE = out_of_range_cases()


def raw_with(model, name, value):
    """A scenario dict putting ``value`` at field ``name`` (a firm field goes into firms[1])."""
    if model is FirmParams:
        firm = {"name": "f", "preset": "broadcast", name: value}
        return {"firms": [{"name": "d", "preset": "dialogue"}, firm]}, f"firms[1].{name}"
    return {name: value}, name


def test_every_numeric_field_has_lower_bound():
    for model, names in ((ModelParams, MODEL_NUMERIC), (FirmParams, FIRM_NUMERIC)):
        for name in names:
            b = bounds(model, name)
            assert b["ge"] is not None or b["gt"] is not None, name


def check_range_message(model, name, value):
    raw, path = raw_with(model, name, value)
    message = error_of(raw)
    assert message.startswith(f"s.yaml: {path}: must be ")
    b = bounds(model, name)
    low = b["ge"] if b["ge"] is not None else b["gt"]
    assert number_text(low) in message
    if b["le"] is not None:
        assert number_text(b["le"]) in message
    assert message.endswith(f"(got {value!r})")


@pytest.mark.parametrize("case", OUT_OF_RANGE, ids=lambda c: f"{c[1]}={c[2]!r}")
def test_just_outside_range_names_key_and_range(case):
    check_range_message(*case)


NUMERIC_FIELDS = [(ModelParams, n) for n in MODEL_NUMERIC] + [(FirmParams, n) for n in FIRM_NUMERIC]


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(NUMERIC_FIELDS), st.booleans(), st.data())
def test_random_out_of_range_names_key_and_range(field, below, data):
    model, name = field
    b = bounds(model, name)
    is_count = name in COUNT_FIELDS or name in FIRM_COUNTS
    offset = data.draw(st.integers(1, 10**6) if is_count else st.floats(1e-6, 1e6))
    if below or b["le"] is None:
        low = b["ge"] if b["ge"] is not None else b["gt"]
        value = low - offset
    else:
        value = b["le"] + offset
    check_range_message(model, name, value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"trust0": 1.5}, "s.yaml: trust0: must be between 0 and 1 (got 1.5)"),
        ({"width": 2}, "s.yaml: width: must be between 3 and 5000 (got 2)"),
        ({"weight_share": 0}, "s.yaml: weight_share: must be > 0 and <= 1000 (got 0)"),
        ({"cost_ad": -0.5}, "s.yaml: cost_ad: must be between 0 and 1000000 (got -0.5)"),
        (
            {"firms": [{"name": "x", "preset": "broadcast", "ads_per_day": -5}]},
            "s.yaml: firms[0].ads_per_day: must be between 0 and 10000000 (got -5)",
        ),
        ({"replications": 0}, "s.yaml: replications: must be between 1 and 10000 (got 0)"),
        ({"seed": -1}, "s.yaml: seed: must be >= 0 (got -1)"),
    ],
)
def test_range_messages_exact(raw, expected):
    assert error_of(raw) == expected


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(NUMERIC_FIELDS),
    st.one_of(
        st.text(max_size=8),
        st.booleans(),
        st.lists(st.integers(0, 3), max_size=3),
        st.none(),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
)
def test_wrong_type_rejected(field, value):
    model, name = field
    if value is None and name in PER_CAPITA:
        return  # null means "not given": the firm's ads or budget come in the other form
    raw, path = raw_with(model, name, value)
    if value is None and name in ("ads_per_day", "budget"):
        assert error_of(raw).startswith(f"s.yaml: {path}: missing: give one of {name} and ")
        return
    message = error_of(raw)
    assert message.startswith(f"s.yaml: {path}: must be ")
    expected = "an integer" if name in COUNT_FIELDS | FIRM_COUNTS else "a number"
    assert f"must be {expected}" in message


@settings(max_examples=50)
@given(
    st.sampled_from(sorted(COUNT_FIELDS | FIRM_COUNTS)),
    st.floats(min_value=3, max_value=300, allow_nan=False).filter(lambda x: not x.is_integer()),
)
def test_fractional_float_rejected_for_count(name, value):
    model = FirmParams if name in FIRM_COUNTS else ModelParams
    raw, path = raw_with(model, name, value)
    assert error_of(raw).startswith(f"s.yaml: {path}: must be an integer (got {value!r})")


def test_numeric_strings_are_not_numbers():
    assert error_of({"steps": "365"}) == "s.yaml: steps: must be an integer (got '365')"
    assert error_of({"trust0": "0.3"}) == "s.yaml: trust0: must be a number (got '0.3')"


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_rejected(value):
    raw, _ = raw_with(FirmParams, "budget", value)
    assert "firms[1].budget: must be a finite number" in error_of(raw)


def test_ints_accepted_for_floats_and_integral_floats_for_counts():
    s = validate_config({"attention_mean": 10, "width": 50.0}, "t")
    assert s.attention_mean == 10.0 and type(s.attention_mean) is float
    assert s.width == 50 and type(s.width) is int


def test_numpy_scalars_accepted():
    np = pytest.importorskip("numpy")
    s = validate_config({"width": np.int64(20), "trust0": np.float32(0.25)}, "t")
    assert (s.width, s.trust0) == (20, 0.25)
    assert type(s.width) is int and type(s.trust0) is float


def test_ranking_choices():
    assert validate_config({"ranking": "chronological"}, "t").ranking == "chronological"
    assert error_of({"ranking": "random"}) == (
        "s.yaml: ranking: must be one of 'engagement', 'chronological' (got 'random')"
    )


def test_top_level_not_a_mapping_via_validate_config():
    assert error_of([1, 2]).startswith("s.yaml: must be a mapping")


# ---------------------------------------------------------------- YAML files


def write(tmp_path, text, name="scen.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_scenario_reads_file_and_uses_stem_as_name(tmp_path):
    path = write(
        tmp_path,
        "attention_mean: 12\nranking: chronological\nfirms:\n"
        "  - {name: loud, preset: broadcast, ads_per_day: 10}\n",
        "my_case.yaml",
    )
    s = load_scenario(path)
    assert s.name == "my_case"
    assert s.attention_mean == 12.0 and s.ranking == "chronological"
    assert [f.name for f in s.firms] == ["loud"] and s.firms[0].ads_per_day == 10


def test_name_in_file_wins_over_stem(tmp_path):
    assert load_scenario(write(tmp_path, "name: given\n")).name == "given"


def test_empty_file_is_refused_and_an_empty_mapping_gives_defaults(tmp_path):
    with pytest.raises(ScenarioError, match="the file is empty"):
        load_scenario(write(tmp_path, "# only a comment\n"))
    s = load_scenario(write(tmp_path, "{}\n"))
    assert s.model_kwargs() == Scenario().model_kwargs()


def test_malformed_yaml_reports_line(tmp_path):
    path = write(tmp_path, "steps: 10\nfirms:\n  - name: a\n   preset: dialogue\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line 4")
    assert "\n" not in message


def test_duplicate_yaml_key_reports_line(tmp_path):
    path = write(tmp_path, "steps: 10\ntrust0: 0.1\nsteps: 20\n")
    with pytest.raises(ScenarioError, match=r"line 3.*duplicate key 'steps'"):
        load_scenario(path)


def test_missing_file_reports_path(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(str(path)) and "not found" in str(info.value)


def test_top_level_list_rejected(tmp_path):
    path = write(tmp_path, "- steps: 10\n- trust0: 0.1\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}: the top level must be a mapping")


def test_validation_error_names_file(tmp_path):
    path = write(tmp_path, "firms:\n  - {name: a, preset: dialogue}\n  - {name: b, preset: broadcast, ads_per_day: -5}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: firms[1].ads_per_day: must be between 0 and 10000000 (got -5)"


def test_exponent_without_dot_is_a_number(tmp_path):
    # plain PyYAML reads 1e-3 as a string; a modeller means a number
    assert load_scenario(write(tmp_path, "cost_ad: 1e-3\n")).cost_ad == 0.001


# ---------------------------------------------------------------- overrides


def test_override_top_level_parses_yaml_types():
    raw = apply_overrides(
        {"steps": 5}, ["attention_mean=10", "trust0=0.5", "ranking=chronological", "extra=[1, 2]"]
    )
    assert raw == {
        "steps": 5,
        "attention_mean": 10,
        "trust0": 0.5,
        "ranking": "chronological",
        "extra": [1, 2],
    }
    assert type(raw["attention_mean"]) is int and type(raw["trust0"]) is float


def test_override_returns_new_dict():
    raw = {"firms": [{"name": "a", "preset": "dialogue"}]}
    out = apply_overrides(raw, ["firms.a.budget=3"])
    assert raw == {"firms": [{"name": "a", "preset": "dialogue"}]}
    assert out["firms"][0]["budget"] == 3


def test_override_nested_firm_with_default_firms():
    raw = apply_overrides({}, ["firms.broadcast.ads_per_day=0"])
    s = validate_config(raw, "t")
    assert s.firms[0].name == "broadcast" and s.firms[0].ads_per_day == 0
    assert s.firms[0].posts_per_day == 6.0
    assert s.firms[1].model_dump() == Scenario().firms[1].model_dump()


def test_override_unknown_firm_name():
    with pytest.raises(ScenarioError) as info:
        apply_overrides({}, ["firms.foo.ads_per_day=0"])
    assert str(info.value) == (
        "--set firms.foo.ads_per_day: no firm named 'foo'; firms are 'broadcast', 'dialogue'"
    )


@pytest.mark.parametrize("item", ["steps", "=3", "a..b=1", ".a=1", "a.=1", "firms.broadcast=3"])
def test_malformed_override(item):
    with pytest.raises(ScenarioError) as info:
        apply_overrides({}, [item])
    assert str(info.value).startswith("--set") and "\n" not in str(info.value)


def test_bad_override_value_yaml():
    with pytest.raises(ScenarioError, match=r"^--set steps: "):
        apply_overrides({}, ["steps=[1,"])


def test_override_applied_by_load_scenario_and_errors_name_the_override(tmp_path):
    path = write(tmp_path, "firms:\n  - {name: big, preset: broadcast}\n")
    s = load_scenario(path, ["firms.big.budget=100", "steps=30"])
    assert s.firms[0].budget == 100.0 and s.steps == 30
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, ["firms.big.ads_per_dy=3"])
    assert str(info.value) == "--set firms.big.ads_per_dy: unknown key; did you mean 'ads_per_day'?"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, ["trust0=7"])
    assert str(info.value) == "--set trust0: must be between 0 and 1 (got 7)"


def test_override_wins_over_file(tmp_path):
    path = write(tmp_path, "steps: 10\nname: x\n")
    s = load_scenario(path, ["steps=20", "name=y"])
    assert (s.steps, s.name) == (20, "y")


# ---------------------------------------------------------------- round trip and hash


def test_model_kwargs_are_plain_and_revalidate():
    s = validate_config(
        {"seed": 7, "firms": [{"name": "a", "preset": "dialogue", "home": [3, 4]}]}, "t"
    )
    kwargs = s.model_kwargs()
    assert set(kwargs) == set(ModelConfig.model_fields)
    assert kwargs["firms"] == [
        {"name": "a", "preset": "dialogue", "home": [3, 4], **SPEC_PRESETS["dialogue"]}
    ]
    assert ModelConfig.model_validate(kwargs) == ModelConfig.model_validate(
        s.model_dump(include=set(ModelConfig.model_fields))
    )


def test_resolved_dict_order_and_round_trip(tmp_path):
    s = validate_config(
        {"name": "rt", "seed": 3, "cost_ad": 1e-5, "firms": [{"name": "a", "preset": "broadcast", "home": [1, 2]}]},
        "t",
    )
    resolved = s.resolved_dict()
    assert list(resolved)[:4] == ["name", "description", "seed", "replications"]
    assert list(resolved)[-1] == "firms"
    path = write(tmp_path, yaml.safe_dump(resolved, sort_keys=False))
    again = load_scenario(path)
    assert again == s
    assert again.resolved_dict() == resolved
    assert scenario_hash(again) == scenario_hash(s)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    trust0=st.floats(0, 1, allow_nan=False),
    attention_mean=st.floats(1, 10_000, allow_nan=False),
    steps=st.integers(1, 100_000),
    budget=st.floats(0, 1e6, allow_nan=False),
    ranking=st.sampled_from(["engagement", "chronological"]),
)
def test_round_trip_random_values(tmp_path, trust0, attention_mean, steps, budget, ranking):
    s = validate_config(
        {
            "trust0": trust0,
            "attention_mean": attention_mean,
            "steps": steps,
            "ranking": ranking,
            "firms": [{"name": "f", "preset": "dialogue", "budget": budget}],
        },
        "t",
    )
    path = write(tmp_path, yaml.safe_dump(s.resolved_dict(), sort_keys=False), "rt.yaml")
    again = load_scenario(path)
    assert again == s and scenario_hash(again) == scenario_hash(s)


def test_hash_is_short_stable_and_sensitive():
    a = Scenario()
    h = scenario_hash(a)
    assert len(h) == 8 and int(h, 16) >= 0
    assert scenario_hash(Scenario()) == h
    assert scenario_hash(validate_config({"trust0": 0.31}, "t")) != h
    assert scenario_hash(validate_config(apply_overrides({}, ["firms.dialogue.budget=27"]), "t")) != h
    # equal values given as int or float hash the same
    assert scenario_hash(validate_config({"attention_mean": 30}, "t")) == h
