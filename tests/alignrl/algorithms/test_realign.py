import pytest
import torch

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.builders import ScoredResponse
from alignrl.algorithms.realign import (
    RealignParams,
    policy_pairs,
    realign_reduction,
    reviser_pairs,
    reviser_rank_triples,
    revision_context,
)
from alignrl.algorithms.registry import get_algorithm


def test_quantile_anchor_triples_m20_k4():
    assert reviser_rank_triples(20, 4) == [(15, 10, 20), (10, 5, 15), (5, 1, 10)]


def test_recon_switches():
    assert reviser_rank_triples(20, 4, reviser_pairing="adjacent_rank") == [(15, 14, 16), (10, 9, 11), (5, 4, 6)]
    assert reviser_rank_triples(20, 4, top_anchor_chosen="self")[-1] == (5, 5, 10)
    assert reviser_rank_triples(20, 2) == [(10, 1, 20)]
    with pytest.raises(ValueError):
        reviser_rank_triples(3, 4)


def test_reviser_pairs_condition_on_anchor():
    pool = [f"resp{i}" for i in range(1, 21)]
    pairs = reviser_pairs("Q", "p0", pool, RealignParams())
    assert [(p.chosen, p.rejected) for p in pairs] == [("resp10", "resp20"), ("resp5", "resp15"), ("resp1", "resp10")]
    assert pairs[0].context == revision_context("Q", "resp15")


def test_reduction_worked_example():
    out_on = get_algorithm("dpo").loss(
        PairBatch(torch.tensor([-50.0]), torch.tensor([-55.0]), torch.tensor([-52.0]), torch.tensor([-54.0])),
        get_algorithm("dpo").params(beta=0.01))
    assert out_on.loss.item() == pytest.approx(0.6783, abs=1e-4)
    assert out_on.metrics["lambda/mean"] == pytest.approx(0.4925, abs=1e-4)
    batch = PairBatch(torch.tensor([-50.0, -80.0]), torch.tensor([-55.0, -70.0]),
                      torch.tensor([-52.0, -78.0]), torch.tensor([-54.0, -75.0]), sources=["on", "revision"])
    pooled = get_algorithm("realign").loss(batch, RealignParams())
    assert pooled.loss.item() == pytest.approx(0.7035, abs=1e-4)
    assert pooled.metrics["revision/lambda/mean"] == pytest.approx(0.5175, abs=1e-4)
    assert pooled.metrics["revision/loss"] == pytest.approx(0.7288, abs=1e-4)
    summed = get_algorithm("realign").loss(batch, RealignParams(realign_reduction="sum_of_means"))
    assert summed.loss.item() == pytest.approx(1.4070, abs=1e-4)
    assert realign_reduction(torch.tensor([1.0, 3.0, 5.0]), ["on", "on", "revision"], "sum_of_means").item() == 7.0


def _drafts(rewards, prefix="d"):
    return [ScoredResponse("p", "x", f"{prefix}{i}", r) for i, r in enumerate(rewards)]


def test_policy_pairs_p_d_plus_r_a():
    drafts, revisions = _drafts([0.2, 0.9, 0.5]), _drafts([0.6, 1.0, 0.3], "r")
    pd, ra = policy_pairs("x", drafts, revisions, None, ("P-D", "R-A"))
    assert (pd.context, pd.chosen, pd.rejected, pd.source) == ("x", "d1", "d0", "on")
    assert (ra.context, ra.chosen, ra.rejected, ra.source) == (revision_context("x", "d1"), "r1", "r2", "revision")


def test_ablation_formats():
    drafts, revisions = _drafts([0.2, 0.9]), _drafts([0.6, 1.0], "r")
    sd, sa, rd = policy_pairs("x", drafts, revisions, ["best", "mid", "worst"], ("S-D", "S-A", "R-D"))
    assert (sd.context, sd.chosen, sd.rejected) == ("x", "best", "worst")
    assert sa.context == revision_context("x", "d1") and sa.source == "strong"
    assert (rd.context, rd.chosen, rd.rejected) == ("x", "r1", "r0")
    with pytest.raises(ValueError, match="unknown ReAlign format"):
        policy_pairs("x", drafts, revisions, None, ("Z-Z",))


def test_filters_drop_ties_and_truncated():
    tie = _drafts([0.5, 0.5])
    assert policy_pairs("x", tie, None, None, ("P-D",)) == []
    truncated = [ScoredResponse("p", "x", "a", 1.0, finished=False), ScoredResponse("p", "x", "b", 0.0)]
    assert policy_pairs("x", truncated, None, None, ("P-D",)) == []


def test_unknown_format_rejected_by_params():
    with pytest.raises(ValueError, match="unknown format"):
        RealignParams(formats=["P-D", "X-Y"])
