"""Offline tiny models: a character tokenizer, a tiny Llama-style LM, and the SFT warm-up."""
