import math

from alignrl.metrics import MetricsSink, read_metrics, redact, redact_text


def test_jsonl_sink(tmp_path):
    with MetricsSink(tmp_path) as sink:
        sink.log(0, {"eval/reward_mean": 0.25})
        sink.log(1, {"loss": 0.5, "bad": math.nan})
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert rows == [{"step": 0, "eval/reward_mean": 0.25}, {"step": 1, "loss": 0.5, "bad": None}]


def test_redaction():
    assert redact({"wandb": {"api_key": "abc", "project": "p"}, "token": "t"}) == {
        "wandb": {"api_key": "***", "project": "p"}, "token": "***"}


def test_log_lines_never_show_secrets(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef0123")
    line = "wandb: login with 0123456789abcdef0123; retry api_key=sk-live-42 token: abc.def password='hunter22'"
    out = redact_text(line)
    for secret in ("0123456789abcdef0123", "sk-live-42", "abc.def", "hunter22"):
        assert secret not in out
    assert out.startswith("wandb: login with ***") and redact_text("step 3 loss 0.52") == "step 3 loss 0.52"


def test_a_resumed_run_drops_the_rows_logged_after_its_checkpoint(tmp_path):
    import json

    from alignrl.metrics import drop_rows_after

    path = tmp_path / "metrics.jsonl"
    rows = [{"step": s, "loss": 0.1 * s} for s in range(7)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 7, "lo')  # cut short by a kill -9
    assert drop_rows_after(path, 4) == 3
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [0, 1, 2, 3, 4]
