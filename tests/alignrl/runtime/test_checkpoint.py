import pytest

from alignrl.runtime.checkpoint import (
    CheckpointError,
    config_fingerprint,
    latest_checkpoint,
    publish,
    read_controller_state,
    staging_dir,
    step_dir,
    write_json,
)


def _cfg(lr=1e-4, steps=10):
    return {"model": {"path": None}, "algorithm": {"name": "dpo"}, "runtime": {"total_steps": steps, "seed": 0},
            "optim": {"lr": lr}}


def test_fingerprint_ignores_run_length_but_not_the_algorithm():
    assert config_fingerprint(_cfg(steps=10)) == config_fingerprint(_cfg(steps=20))
    other = _cfg()
    other["algorithm"] = {"name": "ipo"}
    assert config_fingerprint(other) != config_fingerprint(_cfg())


def test_publish_is_atomic_and_prunes(tmp_path):
    for step in (1, 2, 3):
        staging = staging_dir(tmp_path, step)
        write_json(staging / "controller.json", {"fingerprint": config_fingerprint(_cfg()), "state": {"version": step}})
        publish(staging, step_dir(tmp_path, step), keep_last=2)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert kept == ["step_000002", "step_000003"]
    assert latest_checkpoint(tmp_path).name == "step_000003"
    # A crash mid-save leaves only a hidden staging dir, which is never picked up.
    staging_dir(tmp_path, 4)
    assert latest_checkpoint(tmp_path).name == "step_000003"


def test_resume_guards(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        latest_checkpoint(tmp_path)
    staging = staging_dir(tmp_path, 1)
    write_json(staging / "controller.json", {"fingerprint": config_fingerprint(_cfg()), "state": {}})
    ckpt = publish(staging, step_dir(tmp_path, 1), 2)
    other = _cfg()
    other["algorithm"] = {"name": "ipo"}
    with pytest.raises(CheckpointError, match="different config"):
        read_controller_state(ckpt, other)
    assert read_controller_state(ckpt, _cfg())["state"] == {}


def test_republishing_a_step_never_leaves_it_missing(tmp_path):
    from alignrl.runtime.checkpoint import publish, step_dir

    final = step_dir(tmp_path, 4)
    final.mkdir(parents=True)
    (final / "old").write_text("1")
    staging = tmp_path / "checkpoints" / ".step_000004.tmp"
    staging.mkdir()
    (staging / "new").write_text("2")
    publish(staging, final, keep_last=2)
    assert sorted(p.name for p in final.iterdir()) == ["new"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_000004"]
