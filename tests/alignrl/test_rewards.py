import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from alignrl.rewards import FunctionReward, HTTPReward, RewardError, load_function, make_reward


def nan_reward(prompt, response):
    return float("nan")


def raising_reward(prompt, response):
    raise RuntimeError("judge crashed")


def string_reward(prompt, response):
    return "high"


def test_function_reward_scores_and_checks():
    assert make_reward("function", "alignrl.tasks:verify", None, None, 1).score(["sort:21"], ["12"], ["s0"]) == [1.0]
    with pytest.raises(RewardError, match=r"returned nan for sample s7"):
        FunctionReward(f"{__name__}:nan_reward").score(["p"], ["r"], ["s7"])
    with pytest.raises(RewardError, match=r"raised on sample s1: RuntimeError\('judge crashed'\)"):
        FunctionReward(f"{__name__}:raising_reward").score(["p"], ["r"], ["s1"])
    with pytest.raises(RewardError, match="not a number"):
        FunctionReward(f"{__name__}:string_reward").score(["p"], ["r"], ["s2"])


def test_bad_function_specs():
    with pytest.raises(ValueError, match="package.module:function"):
        load_function("alignrl.tasks.verify")
    with pytest.raises(ValueError, match="cannot be imported"):
        load_function("alignrl.tasks:nope")


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = json.dumps({"rewards": [float(len(r)) for r in body["responses"]]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def test_http_reward_on_loopback():
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/score"
        assert HTTPReward(url, 5).score(["a", "b"], ["xy", "xyz"], ["s0", "s1"]) == [2.0, 3.0]
    finally:
        server.shutdown()
    with pytest.raises(RewardError, match="unreachable or timed out"):
        HTTPReward(url, 1).score(["a"], ["b"], ["s0"])


def test_classifier_reward_scores_with_a_sequence_classifier(tmp_path, char_tokenizer):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from alignrl.rewards import ClassifierReward

    config = LlamaConfig(vocab_size=len(char_tokenizer), hidden_size=64, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, num_labels=1,
                         pad_token_id=char_tokenizer.pad_token_id)
    LlamaForSequenceClassification(config).save_pretrained(tmp_path, safe_serialization=True)
    char_tokenizer.save_pretrained(tmp_path)
    scores = ClassifierReward(str(tmp_path)).score(["sort:21", "add:1+2"], ["12", "3"], ["s0", "s1"])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores) and scores[0] != scores[1]
