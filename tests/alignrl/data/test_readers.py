import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignrl.data.readers import DataError, read_dataset, read_preference_source, read_preferences, read_prompts, read_table


def _jsonl(tmp_path, rows, name="d.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_jsonl_and_parquet_prompts(tmp_path):
    rows = [{"prompt": "sort:21"}, {"prompt_id": "x", "prompt": "add:1+1", "answer": "2"}]
    got = read_prompts(_jsonl(tmp_path, rows))
    assert [r["prompt_id"] for r in got] == ["0", "x"] and got[1]["answer"] == "2"
    pq.write_table(pa.table({"prompt_id": [None, "x"], "prompt": ["sort:21", "add:1+1"], "answer": [None, "2"]}),
                   tmp_path / "p.parquet")
    assert read_prompts(tmp_path / "p.parquet") == got


def test_malformed_jsonl_names_the_line(tmp_path):
    path = _jsonl(tmp_path, [{"prompt": "a"}, "{not json"])
    with pytest.raises(DataError, match=r"d\.jsonl:2: malformed JSON"):
        read_table(path)
    with pytest.raises(DataError, match=r":1: expected a JSON object"):
        read_table(_jsonl(tmp_path, ["[1, 2]"], "list.jsonl"))


def test_missing_columns_and_bad_rows(tmp_path):
    with pytest.raises(DataError, match=r"no 'rejected' column; found \['prompt', 'chosen'\]"):
        read_preferences(_jsonl(tmp_path, [{"prompt": "p", "chosen": "a"}]))
    bad = _jsonl(tmp_path, [{"prompt": "p", "chosen": "a", "rejected": "b"},
                            {"prompt": "p", "chosen": "", "rejected": "b"}], "bad.jsonl")
    with pytest.raises(DataError, match=r"row 1: column 'chosen': the response is empty"):
        read_preferences(bad)
    with pytest.raises(DataError, match="chosen_reward"):
        read_preferences(_jsonl(tmp_path, [{"prompt": "p", "chosen": "a", "rejected": "b", "chosen_reward": "hi"}],
                                "r.jsonl"))


def test_empty_and_unsupported(tmp_path):
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(tmp_path / "e.jsonl")
    pq.write_table(pa.table({"prompt": pa.array([], pa.string())}), tmp_path / "e.parquet")
    with pytest.raises(DataError, match="empty"):
        read_prompts(tmp_path / "e.parquet")
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(DataError, match="unsupported"):
        read_table(tmp_path / "x.csv")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a readable Parquet"):
        read_table(tmp_path / "broken.parquet")
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "missing.jsonl")


def test_preferences_default_source(tmp_path):
    rows = read_preferences(_jsonl(tmp_path, [{"prompt": "p", "chosen": "a", "rejected": "b", "chosen_reward": 1}]))
    assert rows[0]["source"] == "off" and rows[0]["chosen_reward"] == 1


def test_pairs_and_pools_are_told_apart_by_their_columns(tmp_path):
    pairs = _jsonl(tmp_path, [{"prompt": "p", "chosen": "a", "rejected": "b"}], "pairs.jsonl")
    assert read_preference_source(pairs)[0] == "pairs"
    pool = _jsonl(tmp_path, [{"instruction": "p", "output": "a", "qid": 7}, {"instruction": "p", "output": "b"}],
                  "pool.jsonl")
    form, rows = read_preference_source(pool, columns={"prompt": "instruction", "response": "output",
                                                       "prompt_id": "qid"})
    assert form == "pool" and rows == [{"prompt_id": "7", "prompt": "p", "response": "a"},
                                       {"prompt_id": "1", "prompt": "p", "response": "b"}]
    with pytest.raises(DataError, match=r"neither preference pairs .* nor a pool of answers .*\{response: output\}"):
        read_preference_source(pool)
    empty = _jsonl(tmp_path, [{"instruction": "p", "output": ""}], "empty.jsonl")
    with pytest.raises(DataError, match=r"row 0: column 'output': the response is empty"):
        read_preference_source(empty, columns={"prompt": "instruction", "response": "output"})


def test_a_hub_id_may_name_one_of_its_configs(monkeypatch):
    import datasets

    calls = []
    monkeypatch.setattr(datasets, "load_dataset",
                        lambda *args, **kwargs: calls.append((args, kwargs)) or datasets.Dataset.from_dict({"x": [1]}))
    read_dataset("tatsu-lab/alpaca_eval:alpaca_eval_all_outputs", "eval")
    read_dataset("tatsu-lab/alpaca_eval", "eval")
    assert calls == [(("tatsu-lab/alpaca_eval", "alpaca_eval_all_outputs"), {"split": "eval"}),
                     (("tatsu-lab/alpaca_eval", None), {"split": "eval"})]
