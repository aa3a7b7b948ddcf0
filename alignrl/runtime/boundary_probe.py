"""The on/off boundary probe (docs/algorithms.md §9, §12): at each iteration, should DPO train on- or off-policy?

The current policy samples 2 responses per probe prompt; each is compared by reward with the 2
off-policy responses for the same prompt (4 comparisons). BS_on = V_on / (V_on + V_off) picks
the source, with the optional hysteresis and latch of the config.
"""

from __future__ import annotations

from alignrl.algorithms.boundary import count_votes, decide_source
from alignrl.config.schema import RunConfig
from alignrl.data.offline import load_offline_pairs
from alignrl.metrics import MetricsSink
from alignrl.runtime.calls import call


class BoundaryProbe:
    def __init__(self, cfg: RunConfig, handles, tokenizer, sink: MetricsSink, options):
        self.cfg, self.h, self.sink = cfg, handles, sink
        self.params = options  # probe_prompts, hysteresis, latch (the algorithm's boundary block)
        # Probe prompts are held out from training (with a preference file: its first rows).
        pairs = load_offline_pairs(cfg, tokenizer, split="heldout")[: self.params.probe_prompts]
        self.prompts = [{"prompt_id": p.prompt_id, "prompt": p.prompt, "prompt_token_ids": p.prompt_token_ids}
                        for p in pairs]
        self.off_texts = [(p.prompt, p.chosen, p.rejected) for p in pairs]
        self.off_rewards: list[tuple[float, float]] | None = None
        self.previous = "off"
        self.history: list[dict] = []

    def _score_off(self) -> list[tuple[float, float]]:
        """Off-policy responses are scored once, by the same reward as the policy's (one annotator)."""
        prompts = [x for x, _, _ in self.off_texts for _ in range(2)]
        responses = [r for _, c, rj in self.off_texts for r in (c, rj)]
        scores = call(self.h.reward.score_texts.remote(prompts, responses), self.cfg.runtime.rpc_timeout_s,
                      "boundary probe: scoring off-policy pairs on reward-0")
        return [(scores[2 * i], scores[2 * i + 1]) for i in range(len(self.off_texts))]

    def __call__(self, controller, version: int) -> str:
        """Probe the policy at `version`; returns the data source ("online" or "offline") for the iteration."""
        timeout = self.cfg.runtime.rpc_timeout_s
        if self.off_rewards is None:
            self.off_rewards = self._score_off()
        controller.wait_for_generator(0, version)
        gen = self.cfg.generation
        sampling = dict(max_new_tokens=gen.max_new_tokens, temperature=gen.temperature, top_p=gen.top_p,
                        top_k=gen.top_k)
        samples = self.h.generators[0].generate.remote(self.prompts, 2, sampling, 7_000_003 + version)
        rewards = call(self.h.reward.score.remote(samples), timeout, f"boundary probe ({self.h.generator_name(0)}, then reward-0)")
        on = [(rewards[2 * i], rewards[2 * i + 1]) for i in range(len(self.prompts))]
        v_on, v_off = count_votes(on, self.off_rewards)
        verdict = decide_source(v_on, v_off, self.previous, self.params.hysteresis, self.params.latch)
        self.previous = verdict.source
        self.sink.log(version, verdict.metrics())
        self.history.append({"version": version, **verdict.metrics()})
        return "online" if verdict.source == "on" else "offline"
