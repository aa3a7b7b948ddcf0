from alignrl.algorithms.builders import ScoredResponse, best_worst_pairs


def test_best_worst_one_pair_per_prompt_and_filters():
    rs = [ScoredResponse("a", "x", "1", 0.2), ScoredResponse("a", "x", "2", 0.9), ScoredResponse("a", "x", "3", 0.5),
          ScoredResponse("b", "y", "4", 0.5), ScoredResponse("b", "y", "5", 0.5),  # tie: skipped
          ScoredResponse("c", "z", "", 1.0), ScoredResponse("c", "z", "6", 0.1)]  # empty: too few left
    pairs = best_worst_pairs(rs)
    assert [(p.prompt_id, p.chosen, p.rejected, p.source) for p in pairs] == [("a", "2", "1", "on")]
