from transformers import AutoTokenizer

from alignrl.data.encoding import encode_prompt, encode_response


def test_round_trip_and_specials(char_tokenizer):
    text = "sort:5391 -> Hello, world!\n### Draft"
    ids = char_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text)
    assert char_tokenizer.decode(ids) == text
    assert char_tokenizer.unk_token_id not in ids


def test_chat_template_opens_assistant_turn(char_tokenizer):
    ids = encode_prompt(char_tokenizer, "sort:21")
    assert ids[0] == char_tokenizer.bos_token_id
    assert char_tokenizer.decode(ids) == "<s><|user|>sort:21<|assistant|>"
    response = encode_response(char_tokenizer, "12")
    assert response[-1] == char_tokenizer.eos_token_id
    assert char_tokenizer.decode(response, skip_special_tokens=True) == "12"


def test_saved_tokenizer_loads_with_auto(char_tokenizer, tmp_path):
    char_tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert encode_prompt(loaded, "add:1+2") == encode_prompt(char_tokenizer, "add:1+2")
    assert loaded.pad_token_id == char_tokenizer.pad_token_id
