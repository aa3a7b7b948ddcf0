"""The user's prompts, as they have them: files, saved datasets, hub ids; plain and conversational rows."""

import json
import random

import pytest

from alignrl.config import load_config_dict
from alignrl.data.encoding import encode_prompt
from alignrl.data.prompts import DatasetPrompt, dataset_splits, heldout_test, prompt_splits
from alignrl.data.readers import DataError, read_preferences, read_prompts


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cfg(path, **data):
    return load_config_dict({"data": {"prompt_dataset": str(path), **data}})


ROWS = [{"id": f"u{i}", "instruction": f"Write a haiku about the number {i}."} for i in range(60)]


def test_mapped_column_drives_a_deterministic_content_split(tmp_path):
    splits = dataset_splits(_cfg(_jsonl(tmp_path / "p.jsonl", ROWS), columns={"prompt": "instruction",
                                                                                 "prompt_id": "id"}))
    train, held = {p.prompt_id for p in splits.train}, {p.prompt_id for p in splits.heldout}
    assert train and held and not train & held and train | held == {r["id"] for r in ROWS}
    assert all(isinstance(p, DatasetPrompt) and p.text.startswith("Write a haiku") for p in splits.train)
    shuffled = random.Random(3).sample(ROWS, len(ROWS))  # another order, another seed: the same split
    again = dataset_splits(_cfg(_jsonl(tmp_path / "q.jsonl", shuffled), seed=7,
                                columns={"prompt": "instruction", "prompt_id": "id"}))
    assert {p.prompt_id for p in again.heldout} == held


def test_sizes_cap_each_split_in_file_order(tmp_path):
    cfg = _cfg(_jsonl(tmp_path / "p.jsonl", ROWS), columns={"prompt": "instruction"}, n_train=5, n_heldout=2)
    splits = prompt_splits(cfg)
    assert len(splits.train) == 5 and len(splits.heldout) == 2
    assert [int(p.prompt_id) for p in splits.train] == sorted(int(p.prompt_id) for p in splits.train)


def test_conversational_prompts_and_messages_rows(tmp_path):
    rows = [{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]}]
    got = read_prompts(_jsonl(tmp_path / "c.jsonl", rows))
    assert got[0]["prompt"] == rows[0]["prompt"]
    mixed = [rows[0], {"prompt": "plain text"}]  # one column holds one format
    with pytest.raises(DataError, match=r"x\.jsonl: rows disagree on column types"):
        read_prompts(_jsonl(tmp_path / "x.jsonl", mixed))
    chats = [{"messages": [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Red."}]}]
    prompt = read_prompts(_jsonl(tmp_path / "m.jsonl", chats))[0]["prompt"]
    assert prompt == [{"role": "user", "content": "Name a colour."}]  # the answer turn is not part of the prompt


def test_the_chat_template_is_applied_once(char_tokenizer):
    text = "sort:312"
    once = encode_prompt(char_tokenizer, text)
    assert encode_prompt(char_tokenizer, [{"role": "user", "content": text}]) == once
    rendered = char_tokenizer.decode(once)
    assert rendered.count(text) == 1


def test_saved_datasets_and_their_splits(tmp_path):
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_list([{"question": r["instruction"]} for r in ROWS])
    data.save_to_disk(str(tmp_path / "one"))
    datasets.DatasetDict({"train": data, "test": data.select(range(3))}).save_to_disk(str(tmp_path / "dict"))
    assert len(read_prompts(tmp_path / "one", columns={"prompt": "question"})) == 60
    assert len(read_prompts(tmp_path / "dict", split="test", columns={"prompt": "question"})) == 3
    with pytest.raises(DataError, match=r"no split 'validation'; it has \['test', 'train'\]"):
        read_prompts(tmp_path / "dict", split="validation", columns={"prompt": "question"})


def test_errors_name_the_file_the_row_and_the_column(tmp_path):
    path = _jsonl(tmp_path / "p.jsonl", ROWS)
    with pytest.raises(DataError, match=r"p\.jsonl: no 'prompt' column; found \['id', 'instruction'\] "
                                        r"\(map another column with data\.columns: \{prompt: NAME\}\)"):
        dataset_splits(_cfg(path))
    bad = _jsonl(tmp_path / "b.jsonl", [{"prompt": [{"role": "user", "content": "ok"}]},
                                        {"prompt": [{"role": "robot", "content": "x"}]}])
    with pytest.raises(DataError, match=r"b\.jsonl: row 1: column 'prompt': message 0 must be \{role: "):
        read_prompts(bad)
    ends = _jsonl(tmp_path / "e.jsonl", [{"prompt": [{"role": "system", "content": "s"}]}])
    with pytest.raises(DataError, match=r"row 0: column 'prompt': a conversational prompt must end with a user turn"):
        read_prompts(ends)
    clash = _jsonl(tmp_path / "d.jsonl", [{"prompt_id": "a", "prompt": "x"}, {"prompt_id": "a", "prompt": "y"}])
    with pytest.raises(DataError, match=r"rows 0 and 1 share prompt_id 'a'"):
        dataset_splits(_cfg(clash))
    tiny = _jsonl(tmp_path / "t.jsonl", [{"prompt": "only one"}])
    with pytest.raises(DataError, match="a run needs both"):
        dataset_splits(_cfg(tiny))


def test_a_hub_id_without_network_says_so(monkeypatch):
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match=r"no-such-org/no-such-prompts: not a local file or dataset dir, and the hub "
                                        r"dataset could not be loaded \(HF_HUB_OFFLINE is set\)"):
        read_prompts("no-such-org/no-such-prompts")


def test_conversational_preferences(tmp_path):
    rows = [{"prompt": [{"role": "user", "content": "2+2?"}],
             "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]},
            {"question": "x", "good": "a", "bad": "b"}]
    got = read_preferences(_jsonl(tmp_path / "p.jsonl", rows[:1]))
    assert got[0]["chosen"] == "4" and got[0]["rejected"] == "5" and got[0]["prompt"][0]["content"] == "2+2?"
    mapped = read_preferences(_jsonl(tmp_path / "m.jsonl", rows[1:]),
                              columns={"prompt": "question", "chosen": "good", "rejected": "bad"})
    assert (mapped[0]["prompt"], mapped[0]["chosen"], mapped[0]["rejected"]) == ("x", "a", "b")
    with pytest.raises(DataError, match=r"row 0: column 'chosen': a conversational response must end with an "
                                        r"assistant turn"):
        read_preferences(_jsonl(tmp_path / "u.jsonl", [{"prompt": "p", "chosen": [{"role": "user", "content": "a"}],
                                                        "rejected": "b"}]))


def test_every_nth_row_is_held_out_to_keep_a_datasets_own_split(tmp_path):
    rows = ROWS + [ROWS[5]]  # a repeat keeps its first row's place
    cfg = _cfg(_jsonl(tmp_path / "p.jsonl", rows), columns={"prompt": "instruction", "prompt_id": "id"},
               heldout_every=5, n_heldout=100)
    splits = dataset_splits(cfg)
    assert [p.prompt_id for p in splits.heldout] == [f"u{i}" for i in range(0, 60, 5)]
    assert len(splits.train) == 48 and "u5" not in {p.prompt_id for p in splits.train}
    held = heldout_test(cfg)
    assert held(ROWS[10]["instruction"]) and not held(ROWS[11]["instruction"]) and not held("not in the file")


def test_a_split_without_heldout_rows_names_the_rule(tmp_path):
    cfg = _cfg(_jsonl(tmp_path / "p.jsonl", ROWS[:1]), columns={"prompt": "instruction"}, heldout_every=5)
    with pytest.raises(DataError, match=r"1 distinct prompts give 0 training.*data.heldout_every=5"):
        dataset_splits(cfg)


def test_the_row_split_without_a_prompt_dataset_is_an_error():
    from alignrl.config.loader import ConfigError

    with pytest.raises(ConfigError, match="data.heldout_every splits data.prompt_dataset by row"):
        load_config_dict({"data": {"heldout_every": 5}})
