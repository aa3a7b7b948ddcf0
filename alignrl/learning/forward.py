"""The forward pass every data kind and the reference share: token ids in, log-probs and masks out (pure torch).

Two memory levers, both exact (tests hold them to the padded, full-logits path at 1e-5):
- log-probs come from the decoder's hidden states through the output head a chunk of positions at a
  time, and only where a target token is scored, so the [N, T, V] logits never exist at once; with
  gradients each chunk is recomputed in the backward instead of being kept;
- packing puts a micro-batch's sequences in one row with position ids reset per sequence (the model
  sees a block-diagonal causal mask), so no compute or activation memory goes to padding.
The results are always laid out as the right-padded [N, T-1] next-token grid, so the kinds' code is
the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.checkpoint import checkpoint

from alignrl.algorithms.logprobs import sequence_logps, shifted_mask
from alignrl.data.encoding import pack_sequences


@dataclass(frozen=True)
class ForwardOptions:
    """How a forward pass spends memory (config: learner.packing, learner.logits_chunk_tokens)."""

    packing: bool = False
    chunk_tokens: int | None = 1024  # scored positions per output-head chunk; None: one chunk

    @classmethod
    def from_config(cls, cfg) -> "ForwardOptions":
        return cls(packing=cfg.learner.packing, chunk_tokens=cfg.learner.logits_chunk_tokens)


DEFAULT = ForwardOptions()


@dataclass
class TokenForward:
    """A forward pass on the right-padded grid: [N, T-1] next-token log-probs and their masks."""

    logp_tok: torch.Tensor
    mask: torch.Tensor  # response tokens (EOS included)
    prompt_mask: torch.Tensor  # scored prompt tokens (after the first); zeros unless prompts were scored
    input_ids: torch.Tensor  # [N, T], right-padded
    _hidden: torch.Tensor = field(repr=False, default=None)  # [M, H] hidden states at the scored positions
    _where: tuple = field(repr=False, default=())  # (rows, cols) of those positions on the grid
    _head: object = field(repr=False, default=None)

    def log_sum_sq(self) -> torch.Tensor:
        """log sum_v p(v)^2 at each scored position [N, T-1] (WPO's normaliser), without gradient."""
        out = torch.zeros_like(self.logp_tok)
        with torch.no_grad():
            values = [torch.logsumexp(2 * torch.log_softmax(self._head(h).float(), dim=-1), dim=-1)
                      for h in _chunks(self._hidden.detach(), self._head.chunk)]
            if values:
                out[self._where] = torch.cat(values)
        return out


class OutputHead:
    """The model's output projection (with any final logit transform), applied to hidden-state chunks."""

    def __init__(self, model, chunk_tokens: int | None):
        self.linear = model.get_output_embeddings()
        config = getattr(model, "config", None)
        self.softcap = getattr(config, "final_logit_softcapping", None)  # Gemma-style tanh capping
        self.scale = getattr(config, "logit_scale", None)  # Cohere-style scaling
        self.chunk = chunk_tokens

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.linear(hidden)
        if self.scale:
            logits = logits * self.scale
        if self.softcap:
            logits = self.softcap * torch.tanh(logits / self.softcap)
        return logits

    def target_logps(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(target) at each of M positions, in fp32, one chunk of logits at a time."""
        out = []
        for h, t in zip(_chunks(hidden, self.chunk), _chunks(targets, self.chunk)):
            if torch.is_grad_enabled() and h.requires_grad:
                out.append(checkpoint(self._chunk_logps, h, t, use_reentrant=False))
            else:
                out.append(self._chunk_logps(h, t))
        return torch.cat(out) if out else hidden.new_zeros(0, dtype=torch.float32)

    def _chunk_logps(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = self(hidden).float()
        return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def _chunks(x: torch.Tensor, size: int | None):
    size = size or max(1, x.shape[0])
    return [x[i: i + size] for i in range(0, x.shape[0], size)]


def _hidden_states(model, input_ids, attention_mask=None, position_ids=None) -> torch.Tensor:
    decoder = model.get_decoder()
    return decoder(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                   use_cache=False).last_hidden_state


def forward_tokens(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int,
                   options: ForwardOptions = DEFAULT, score_prompts: bool = False) -> TokenForward:
    """Log-probs of every response token (and of the prompt tokens after the first, on request)."""
    batch = pack_sequences(prompts, responses, pad_id)
    device = next(model.parameters()).device
    input_ids = batch.input_ids.to(device)
    attention = batch.attention_mask.to(device)
    loss_mask = batch.loss_mask.to(device)
    mask = shifted_mask(loss_mask)
    prompt_mask = shifted_mask(attention * (1 - loss_mask)) if score_prompts else torch.zeros_like(mask)
    rows, cols = torch.nonzero((mask + prompt_mask) > 0, as_tuple=True)  # grid cell (i, t) scores token t+1
    if options.packing:
        lengths = (batch.prompt_lengths + batch.response_lengths).tolist()
        flat = torch.cat([input_ids[i, :n] for i, n in enumerate(lengths)]).unsqueeze(0)
        positions = torch.cat([torch.arange(n, device=device) for n in lengths]).unsqueeze(0)
        offsets = torch.tensor([0] + lengths[:-1], device=device).cumsum(0)
        hidden = _hidden_states(model, flat, position_ids=positions)[0][offsets[rows] + cols]
    else:
        hidden = _hidden_states(model, input_ids, attention_mask=attention)[rows, cols]
    head = OutputHead(model, options.chunk_tokens)
    scored = head.target_logps(hidden, input_ids[rows, cols + 1])
    logp_tok = torch.zeros(mask.shape, device=device, dtype=scored.dtype).index_put((rows, cols), scored)
    return TokenForward(logp_tok, mask, prompt_mask, input_ids, hidden, (rows, cols), head)


def sequence_logprobs(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int,
                      per_token: bool = False, options: ForwardOptions = DEFAULT):
    """Sequence log-probs of each response given its prompt (and the per-token values on request)."""
    out = forward_tokens(model, prompts, responses, pad_id, options)
    seq = sequence_logps(out.logp_tok, out.mask)
    if not per_token:
        return seq
    return seq, [out.logp_tok[i][out.mask[i].bool()] for i in range(len(prompts))]


def prompt_logprobs(model, prompts: list[list[int]], pad_id: int, options: ForwardOptions = DEFAULT) -> torch.Tensor:
    """log p(x_{>t0} | t0) of each prompt: the prompt's own likelihood after its first token (RAO)."""
    return sequence_logprobs(model, [p[:1] for p in prompts], [p[1:] for p in prompts], pad_id, options=options)


@torch.no_grad()
def batched_logprobs(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int,
                     batch_size: int = 64, options: ForwardOptions = DEFAULT) -> tuple[list[float], list[list[float]]]:
    """Frozen-model scoring in batches of similar lengths: (sequence log-probs, per-token log-probs) of each response."""
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]) + len(responses[i]))  # less padding
    seqs: list[float] = [0.0] * len(prompts)
    toks: list[list[float]] = [[] for _ in prompts]
    for start in range(0, len(order), batch_size):
        picked = order[start: start + batch_size]
        seq, rows = sequence_logprobs(model, [prompts[i] for i in picked], [responses[i] for i in picked],
                                      pad_id, per_token=True, options=options)
        for i, s, r in zip(picked, seq.tolist(), rows):
            seqs[i], toks[i] = s, r.tolist()
    return seqs, toks


def cross_logprobs(model, contexts: list[list[int]], responses: list[list[int]], pad_id: int,
                   batch_size: int = 64, options: ForwardOptions = DEFAULT) -> list[list[float]]:
    """log p(y_j | x_i) for every (i, j) of one block of B items: row i holds the B values of context i."""
    size = len(contexts)
    seqs, _ = batched_logprobs(model, [c for c in contexts for _ in responses], [r for _ in contexts for r in responses],
                               pad_id, batch_size, options)
    return [seqs[i * size: (i + 1) * size] for i in range(size)]


def context_logprobs(model, contexts: list[list[int]], pad_id: int, batch_size: int = 64,
                     options: ForwardOptions = DEFAULT) -> list[float]:
    """log p(x_{>t0} | t0) of each context (RAO's prompt term), each distinct context scored once."""
    distinct = sorted({tuple(c) for c in contexts})
    values, _ = batched_logprobs(model, [list(c[:1]) for c in distinct], [list(c[1:]) for c in distinct], pad_id,
                                 batch_size, options)
    by_context = dict(zip(distinct, values))
    return [by_context[tuple(c)] for c in contexts]
