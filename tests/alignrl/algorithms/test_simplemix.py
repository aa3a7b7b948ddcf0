from alignrl.algorithms.builders import PreferencePair
from alignrl.algorithms.simplemix import simplemix_pairs


def _pairs(source, n):
    return [PreferencePair(f"p{i}", "x", "a", "b", 1.0, 0.0, source) for i in range(n)]


def test_per_prompt_one_pair_each_and_seeded():
    mixed = simplemix_pairs(_pairs("on", 200), _pairs("off", 200), seed=3)
    assert [p.prompt_id for p in mixed] == [f"p{i}" for i in range(200)]
    share_on = sum(p.source == "on" for p in mixed) / 200
    assert 0.4 < share_on < 0.6
    assert mixed == simplemix_pairs(_pairs("on", 200), _pairs("off", 200), seed=3)


def test_per_prompt_falls_back_when_one_side_missing():
    mixed = simplemix_pairs(_pairs("on", 3), [], seed=0)
    assert [p.source for p in mixed] == ["on"] * 3


def test_union_subsample_keeps_shares():
    mixed = simplemix_pairs(_pairs("on", 10), _pairs("off", 10), seed=0, mix="union_subsample", on_fraction=0.3)
    assert sum(p.source == "on" for p in mixed) == 3 and sum(p.source == "off" for p in mixed) == 7
