"""A character-level tokenizer built offline, saved as a standard HF fast tokenizer.

Every printable ASCII character and newline is one token, so task prompts, the ReAlign revision
template and any English text tokenize without a hub download. transformers and vLLM both load
the saved directory (`tokenizer.json` + `tokenizer_config.json` with the chat template).
"""

from __future__ import annotations

import string

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK, *ROLE_TOKENS)

# Single-turn and multi-turn chats; the generation prompt opens the assistant turn.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def character_vocab() -> list[str]:
    chars = [c for c in string.printable if c not in "\t\r\x0b\x0c"]
    return list(SPECIAL_TOKENS) + chars


def build_char_tokenizer() -> PreTrainedTokenizerFast:
    """The tokenizer for the tiny models: ids 0..6 are specials, then one id per character."""
    vocab = {tok: i for i, tok in enumerate(character_vocab())}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=list(ROLE_TOKENS),
        padding_side="left",
        model_max_length=4096,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
