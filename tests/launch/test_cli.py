import pyarrow.parquet as pq

from alignrl.launch.cli import main


def test_config_show_and_errors(repo_root, capsys):
    cfg = str(repo_root / "configs" / "tiny_sort.yaml")
    assert main(["config", "--show", cfg, "--set", "algorithm.name=grpo"]) == 0
    assert "clip_eps: 0.2" in capsys.readouterr().out
    assert main(["config", cfg, "--set", "runtime.max_stalenes=0"]) == 2
    err = capsys.readouterr().err
    assert "runtime.max_stalenes: unknown key" in err and "tiny_sort.yaml" in err


def test_train_validates_before_anything_starts(repo_root, capsys):
    assert main(["train", str(repo_root / "configs" / "tiny_sort.yaml"), "--set", "optim.lr=abc"]) == 2
    assert "optim.lr" in capsys.readouterr().err


def test_listings(capsys):
    assert main(["algorithms"]) == 0
    out = capsys.readouterr().out
    for name in ["dpo", "iterative_dpo", "realign", "var", "rao", "grpo", "dr_grpo", "simpo", "ipo", "slic", "wpo",
                 "simplemix"]:
        assert f"\n{name} " in "\n" + out
    assert main(["tasks"]) == 0 and "digit_sort" in capsys.readouterr().out
    assert main(["config", "--fields"]) == 0 and "runtime.max_staleness" in capsys.readouterr().out


def test_oracle_prefs(repo_root, tmp_path, capsys):
    out = tmp_path / "prefs.parquet"
    assert main(["oracle-prefs", str(repo_root / "configs" / "tiny_sort.yaml"), "--out", str(out),
                 "--set", "data.n_train=40"]) == 0
    table = pq.read_table(out)
    assert 30 <= table.num_rows <= 40
    rows = table.to_pylist()
    assert all(r["chosen_reward"] > r["rejected_reward"] for r in rows)
