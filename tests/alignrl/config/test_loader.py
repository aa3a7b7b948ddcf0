import pytest

from alignrl.algorithms import ALGORITHMS
from alignrl.config import ConfigError, RunConfig, dump_config, load_config, load_config_dict
from alignrl.config.loader import describe_fields, merge_sections, parse_override, read_config_mapping
from alignrl.bench.config import BenchConfig
from alignrl.config.reward_model import RewardModelConfig
from tests.conftest import builtin_algorithms


def _write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_defaults_are_valid():
    cfg = RunConfig()
    assert cfg.algorithm.name == "iterative_dpo"
    assert cfg.runtime.max_staleness == 1


def test_every_shipped_config_validates(repo_root):
    # cluster.*.yaml are Ray cluster-launcher configs, checked in tests/launch/test_cluster_configs.py;
    # rm.*.yaml and bench_*.yaml are reward-model and bench configs.
    configs = sorted(p for p in (repo_root / "configs").glob("*.yaml")
                     if not p.name.startswith(("cluster.", "rm.", "bench_")))
    smollm2 = sorted((repo_root / "configs" / "smollm2").glob("*.yaml"))
    assert configs and {p.stem for p in smollm2} >= {"grpo", "iterative_dpo", "dpo", "var", "rao"}
    configs += smollm2
    for path in configs:
        load_config(path)
    for path in (repo_root / "configs").glob("rm.*.yaml"):
        load_config(path, model=RewardModelConfig)
    for path in (repo_root / "configs").glob("bench_*.yaml"):
        bench = load_config(path, model=BenchConfig)
        # The bench's base with its overrides must be a valid run config too (the GPU layout, say).
        load_config_dict(merge_sections(read_config_mapping(path.parent / bench.base), bench.base_overrides))


def test_every_algorithm_ships_a_config_that_selects_it(repo_root):
    for name in builtin_algorithms():
        assert load_config(repo_root / "configs" / f"{name}.yaml").algorithm.name == name


def test_extends_merges_sections_and_replaces_another_algorithms_block(tmp_path):
    (tmp_path / "base.yaml").write_text("algorithm: {name: dpo, beta: 0.3}\nruntime: {total_steps: 7, seed: 3}\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nalgorithm: {name: ipo}\nruntime: {seed: 5}\n")
    cfg = load_config(tmp_path / "child.yaml")
    assert cfg.algorithm.name == "ipo" and cfg.runtime.total_steps == 7 and cfg.runtime.seed == 5
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(ConfigError, match="extends itself"):
        load_config(tmp_path / "loop.yaml")


def test_unknown_key_names_the_key_and_file(tmp_path):
    path = _write(tmp_path, "runtime:\n  max_stalenes: 0\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "runtime.max_stalenes" in str(err.value) and str(path) in str(err.value)
    assert "unknown key" in str(err.value)


def test_wrong_type_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"optim\.lr: .*got 'fast'"):
        load_config(_write(tmp_path, "optim:\n  lr: fast\n"))
    with pytest.raises(ConfigError, match=r"logging\.progress"):
        load_config(_write(tmp_path, "logging:\n  progress: 'maybe'\n"))


def test_algorithm_block_is_typed_per_algorithm():
    cfg = load_config_dict({"algorithm": {"name": "simpo"}})
    assert (cfg.algorithm.beta, cfg.algorithm.gamma) == (10.0, 3.0)
    with pytest.raises(ConfigError, match=r"algorithm\.tau: unknown key"):
        load_config_dict({"algorithm": {"name": "dpo", "tau": 0.1}})
    with pytest.raises(ConfigError, match="unknown algorithm 'dop'"):
        load_config_dict({"algorithm": {"name": "dop"}})
    with pytest.raises(ConfigError, match=r"algorithm\.beta"):
        load_config_dict({"algorithm": {"name": "grpo", "beta": -1.0}})


def test_documented_defaults_from_algorithms_md():
    defaults = {name: ALGORITHMS[name].params() for name in builtin_algorithms()}
    assert defaults["dpo"].beta == 0.1
    assert defaults["wpo"].beta == 0.03
    assert defaults["ipo"].tau == 0.1 and defaults["ipo"].ipo_length_normalize is False
    assert (defaults["slic"].delta, defaults["slic"].lam_reg) == (1.0, 0.5)
    assert (defaults["realign"].beta, defaults["realign"].k, defaults["realign"].formats) == (0.01, 4, ["P-D", "R-A"])
    assert defaults["realign"].realign_reduction == "pooled"
    assert (defaults["var"].var_lambda, defaults["var"].var_z_mode, defaults["var"].micro_batch) == (1.0, "cross_pair", 8)
    assert (defaults["rao"].beta, defaults["rao"].z0, defaults["rao"].z0_space) == (0.1, 50.0, "log")
    assert (defaults["grpo"].beta, defaults["grpo"].clip_eps, defaults["grpo"].adv_eps) == (0.04, 0.2, 1e-6)
    assert (defaults["dr_grpo"].beta, defaults["dr_grpo"].scale_rewards, defaults["dr_grpo"].aggregation) == (
        0.0, False, "dr_grpo")
    assert defaults["simplemix"].on_fraction == 0.5


def test_overrides_are_typed(tmp_path):
    path = _write(tmp_path, "algorithm:\n  name: dpo\n")
    cfg = load_config(path, ["algorithm.beta=0.25", "runtime.max_staleness=0", "data.tasks=[add, sub]"])
    assert cfg.algorithm.beta == 0.25 and cfg.runtime.max_staleness == 0 and cfg.data.tasks == ["add", "sub"]
    assert parse_override("a.b=3") == (["a", "b"], 3)
    with pytest.raises(ConfigError, match="key.path=value"):
        parse_override("novalue")
    with pytest.raises(ConfigError, match=r"runtime\.bogus"):
        load_config(path, ["runtime.bogus=1"])


def test_cross_field_checks():
    with pytest.raises(ConfigError, match="num_learners 4"):
        load_config_dict({"runtime": {"train_batch_size": 10}, "resources": {"num_learners": 4}})
    # micro_batch_size only caps a micro-batch: a remainder trains as a smaller one, weighted by its size
    assert load_config_dict({"runtime": {"train_batch_size": 10, "micro_batch_size": 4},
                             "resources": {"num_learners": 1}}).runtime.micro_batch_size == 4
    with pytest.raises(ConfigError, match="head_dim >= 32"):
        load_config_dict({"model": {"tiny": {"hidden_size": 64, "num_heads": 4}}})
    with pytest.raises(ConfigError, match=r"data\.tasks: .*unknown task 'sort'"):
        load_config_dict({"data": {"tasks": ["sort"]}})


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "a: [1, 2\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(_write(tmp_path, "- 1\n- 2\n"))


def test_dump_round_trips(tmp_path):
    cfg = load_config_dict({"algorithm": {"name": "realign", "formats": ["P-D", "S-A"]}})
    again = load_config(_write(tmp_path, dump_config(cfg)))
    assert again == cfg


def test_every_field_is_documented():
    rows = describe_fields()
    assert len(rows) > 60
    undocumented = [key for key, _, _, doc in rows if not doc]
    assert undocumented == []
    assert any(key == "algorithm[grpo].clip_eps" for key, *_ in rows)


def test_exponent_numbers_are_numbers_in_files_and_overrides(tmp_path):
    # PyYAML's YAML 1.1 rules read `1e-4` as a string, and the run would stop on "not a valid number".
    (tmp_path / "run.yaml").write_text("optim: {lr: 1e-4}\n")
    assert load_config(tmp_path / "run.yaml").optim.lr == 1e-4
    assert load_config(tmp_path / "run.yaml", ["optim.lr=2E-5"]).optim.lr == 2e-5
    assert load_config(tmp_path / "run.yaml", ["logging.project=1e3x"]).logging.project == "1e3x"
