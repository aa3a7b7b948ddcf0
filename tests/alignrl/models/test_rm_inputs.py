"""How a reward model reads its inputs: the format choice, and the length term."""

import math

import pytest

from alignrl.data.readers import DataError
from alignrl.models.rm_inputs import LengthFeature, resolve_input_format


def test_the_chat_input_format_needs_a_chat_template():
    class Encoder:
        chat_template = None

    class Decoder:
        chat_template = "{{ messages }}"

    assert resolve_input_format("auto", Encoder()) == "text_pair" and resolve_input_format("auto", Decoder()) == "chat"
    with pytest.raises(DataError, match="needs a tokenizer with a chat template"):
        resolve_input_format("chat", Encoder())


def test_the_length_feature_counts_its_unit():
    assert LengthFeature(2.0, "chars")("abc") == pytest.approx(2.0 * math.log(4))
    assert LengthFeature(2.0, "words")("abc") == pytest.approx(2.0 * math.log(2))
    assert LengthFeature.from_meta({"length_weight": 1.0}).unit == "words"  # saved before the field existed

