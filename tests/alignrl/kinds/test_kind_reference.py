"""A learner rank's reference scores (each kind's score_reference) equal the reference actor's, field by field.

The actor path annotates the samples before the builder; the learner path builds them bare and
scores the examples at train time. Both must hand the loss the same numbers.
"""

import pytest

from alignrl.actors.reference import ReferenceActor
from alignrl.algorithms import RoundShape
from alignrl.kinds import get_kind
from alignrl.learning.forward import DEFAULT, ForwardOptions

PROMPTS = {"p": [1, 5, 6, 7], "q": [1, 8, 9, 4, 4]}
RESPONSES = [[10, 11, 2], [12, 2], [13, 14, 15, 2], [16, 2]]


@pytest.fixture(scope="module")
def actor(tiny_model_dir):
    """The reference actor's own class, run in this process (its code, without Ray)."""
    return ReferenceActor.__ray_metadata__.modified_class(str(tiny_model_dir), "float32", batch_size=3)


def _samples(block: int | None = None) -> list[dict]:
    out = []
    for prompt, tokens in PROMPTS.items():
        for i, response in enumerate(RESPONSES):
            out.append(dict(sample_id=f"{prompt}{i}", prompt_id=prompt, prompt=prompt, prompt_token_ids=tokens,
                            response=str(i), response_token_ids=response, finished=True, source="on",
                            policy_version=0, reward=float(i) + (0.5 if prompt == "q" else 0.0),
                            behaviour_logprobs=[-1.0] * len(response)))
    if block:
        for s in out:
            s["reward_cross_row"] = [0.1 * j for j in range(block)]
    return out


def _annotated(actor, kind, samples, block):
    if kind.cross_blocks:
        return actor.annotate_cross(samples, block)
    return actor.annotate(samples, kind.prompt_logp)


REFERENCE_FIELDS = {"pairwise": ("ref_chosen", "ref_rejected"), "group": ("ref_logprobs",),
                    "pointwise": ("ref_logp_seq", "ref_prompt_logp"), "weighted_sft": ("ref_cross",)}


def _flat(value):
    if isinstance(value, list):
        return [v for item in value for v in _flat(item)]
    return [value]


@pytest.mark.parametrize("options", [DEFAULT, ForwardOptions(packing=True, chunk_tokens=4)], ids=["padded", "packed"])
@pytest.mark.parametrize("name", sorted(REFERENCE_FIELDS))
def test_learner_scores_equal_the_reference_actor(actor, tiny_model_dir, name, options):
    kind = get_kind(name)
    shape = RoundShape(per_prompt=4, block=4 if kind.cross_blocks else 1)
    by_actor = kind.build(_annotated(actor, kind, _samples(shape.block), shape.block), 0, shape)[0].to_pylist()
    bare = kind.build(_samples(shape.block), None, shape)[0].to_pylist()
    assert len(bare) == len(by_actor) > 0
    for field in REFERENCE_FIELDS[name]:  # built bare, the rows carry no reference yet (group: zeros)
        assert all(not any(_flat(row[field])) for row in bare)
    kind.score_reference(actor.model, bare, actor.pad_id, 2, options)
    for mine, theirs in zip(bare, by_actor):
        for field in REFERENCE_FIELDS[name]:
            assert _flat(mine[field]) == pytest.approx(_flat(theirs[field]), abs=1e-5), field
            assert all(v < 0 for v in _flat(mine[field]))
