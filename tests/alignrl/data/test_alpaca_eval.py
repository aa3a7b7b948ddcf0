import pytest

from alignrl.data import alpaca_eval
from alignrl.data.readers import DataError


@pytest.fixture(scope="module")
def data_dir(repo_root):
    path = repo_root.parent / "shared" / "data" / "alpaca_eval"
    if not path.is_dir():
        pytest.skip("the AlpacaEval package is not beside this checkout")
    return path


def test_absent_directory_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(alpaca_eval.ENV_VAR, raising=False)
    with pytest.raises(DataError, match=r"AlpacaEval data not found .*ALIGNRL_ALPACA_EVAL_DIR"):
        alpaca_eval.load_prompts(tmp_path)


def test_splits(data_dir):
    train, held = alpaca_eval.load_prompts(data_dir, "train"), alpaca_eval.load_prompts(data_dir, "eval")
    assert (len(train), len(held)) == (644, 161)
    assert all(int(p["prompt_id"]) % 5 == 0 for p in held)


def test_judgment_pairs(data_dir):
    pairs = alpaca_eval.judgment_pairs(data_dir)
    assert len(pairs) > 20000
    assert all(int(p["prompt_id"]) % 5 for p in pairs)  # no evaluation prompt leaks into training pairs
    assert all(p["generator_b"] != alpaca_eval.REFERENCE_GENERATOR for p in pairs)
    assert all(p["preference"] != 0.5 and p["chosen"] != p["rejected"] for p in pairs[:2000])
    b_wins = [p for p in pairs if p["preference"] > 0.5]
    assert 0.05 < len(b_wins) / len(pairs) < 0.25  # the README's ~12% of rows prefer side b
    assert alpaca_eval.load_outputs("Qwen1.5-7B-Chat", data_dir)[1]
    with pytest.raises(DataError, match="no outputs"):
        alpaca_eval.load_outputs("nobody", data_dir)
