"""`eval-rm`'s figures on constructed files whose right answers are known: a length-only file, a
content-only file and ties; and the batched, deduplicated scorer against one-by-one scoring."""

from collections import Counter

import pytest

from alignrl.data.alpaca_eval import read_judgment_file
from alignrl.data.readers import DataError
from alignrl.models.reward_model import hard_pairs
from alignrl.models.rm_eval import evaluate_pairs, similar_length, wilson_interval

GOOD, BAD = "Paris is the capital.", "Lyons is the capital."  # same length; only the content differs


def _load(path):
    skipped = Counter()
    return hard_pairs(read_judgment_file(path, skipped=skipped), skipped), skipped


def length_scorer(inputs):
    return [float(len(response)) for _, response in inputs]


def content_scorer(inputs):
    return [1.0 if "Paris" in response else 0.0 for _, response in inputs]


def _length_only_rows():  # the judge always picks the longer, equally correct answer
    return [{"prompt_id": i, "generator_b": "verbose" if i % 2 else "terse", "output_a": GOOD,
             "output_b": GOOD + " It has been since the 10th century, and it is also the largest city.",
             "preference": 0.9 if i % 2 else 0.95} for i in range(20)]


def _content_only_rows():  # equal lengths: only the content decides
    return [{"prompt_id": i, "generator_b": "m", "output_a": GOOD if i % 3 else BAD,
             "output_b": BAD if i % 3 else GOOD, "preference": 0.0 if i % 3 else 1.0} for i in range(30)]


def test_length_only_file(write_judgments):
    pairs, skipped = _load(write_judgments(_length_only_rows()))
    by_length = evaluate_pairs(pairs, length_scorer, skipped)
    assert by_length.pairs == 20 and by_length.overall.accuracy == 1.0 and by_length.overall.length_baseline == 1.0
    assert by_length.similar_length.pairs == 0 and by_length.similar_length.accuracy is None
    assert set(by_length.per_generator) == {"verbose", "terse"}
    assert all(b.pairs == 10 and b.accuracy == 1.0 for b in by_length.per_generator.values())
    by_content = evaluate_pairs(pairs, content_scorer)  # both answers hold "Paris": a tie on every pair
    assert by_content.overall.accuracy == 0.0 and by_content.reward_ties == 20


def test_content_only_file(write_judgments):
    pairs, skipped = _load(write_judgments(_content_only_rows()))
    assert not skipped and len(pairs) == 30
    by_content = evaluate_pairs(pairs, content_scorer)
    assert by_content.overall.accuracy == 1.0 and by_content.overall.length_baseline == 0.5
    assert by_content.similar_length.pairs == 30 and by_content.similar_length.accuracy == 1.0
    by_length = evaluate_pairs(pairs, length_scorer)
    assert by_length.overall.accuracy == 0.0 and by_length.reward_ties == 30  # equal lengths decide nothing
    assert by_content.distinct_answers == 60  # each prompt has its own text: 2 distinct inputs per pair


def test_ties_self_comparisons_and_bad_rows_are_counted_by_reason(write_judgments):
    rows = _content_only_rows()[:4] + [
        {"prompt_id": 40, "generator_b": "m", "output_a": GOOD, "output_b": BAD, "preference": 0.5},
        {"prompt_id": 41, "generator_b": "m", "output_a": GOOD, "output_b": BAD, "preference": 0.5},
        {"prompt_id": 42, "generator_b": "gpt4_1106_preview", "output_a": GOOD, "output_b": GOOD, "preference": 0.5},
        {"prompt_id": 43, "generator_b": "m", "output_a": GOOD, "output_b": GOOD, "preference": 0.8},
        {"prompt_id": 44, "generator_b": "m", "output_a": GOOD, "output_b": None, "preference": 0.8},
        {"prompt_id": 45, "generator_b": "m", "output_a": GOOD, "output_b": BAD, "preference": float("nan")},
    ]
    pairs, skipped = _load(write_judgments(rows))
    assert len(pairs) == 4
    assert skipped == {"soft tie (preference 0.5)": 2, "self-comparison (the reference against itself)": 1,
                       "identical answers": 1, "missing answer (null output_a or output_b)": 1,
                       "no preference (null or NaN)": 1}
    report = evaluate_pairs(pairs, content_scorer, skipped)
    text = "\n".join(report.lines())
    assert "skipped 6 row(s): 2 soft tie (preference 0.5)" in text and report.to_dict()["skipped"] == skipped


def test_a_preference_outside_the_unit_interval_names_the_row(write_judgments):
    rows = _content_only_rows()[:3]
    rows[2]["preference"] = 2.0  # AlpacaEval's raw 1..2 scale, not the judgments schema's 0..1
    with pytest.raises(DataError, match=r"row 2: column preference is 2.0, outside \[0, 1\]"):
        read_judgment_file(write_judgments(rows))


def test_wilson_interval():
    low, high = wilson_interval(90, 100)
    assert low == pytest.approx(0.8256, abs=1e-3) and high == pytest.approx(0.9448, abs=1e-3)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(10, 10)[0] > 0.69
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_similar_length_is_within_a_fifth_of_the_longer():
    assert similar_length({"chosen": "x" * 100, "rejected": "x" * 81})
    assert not similar_length({"chosen": "x" * 100, "rejected": "x" * 80})


def test_eval_rm_on_a_file_of_only_ties_names_what_it_skipped(write_judgments, tmp_path, capsys):
    from alignrl.launch.cli import main

    rows = [{"prompt_id": i, "generator_b": "m", "output_a": GOOD, "output_b": BAD, "preference": 0.5}
            for i in range(3)]
    assert main(["eval-rm", str(tmp_path / "no-model"), str(write_judgments(rows))]) == 2  # before any model load
    assert "no pair to score; skipped 3 soft tie (preference 0.5)" in capsys.readouterr().err
