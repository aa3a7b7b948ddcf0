"""The on/off boundary score (docs/algorithms.md §9, §12): should this iteration train on- or off-policy?"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BoundaryVerdict:
    v_on: int
    v_off: int
    bs_on: float
    ci_low: float
    ci_high: float
    source: str  # "off" (preference injection) or "on" (preference fine-tuning)

    def metrics(self) -> dict[str, float]:
        return {"boundary/V_on": self.v_on, "boundary/V_off": self.v_off, "boundary/BS_on": self.bs_on,
                "boundary/ci_low": self.ci_low, "boundary/ci_high": self.ci_high,
                "boundary/use_on": float(self.source == "on")}


def count_votes(on_rewards: list[tuple[float, ...]], off_rewards: list[tuple[float, ...]]) -> tuple[int, int]:
    """Algorithm 1: every on response against every off response of the same prompt; ties vote off."""
    if len(on_rewards) != len(off_rewards):
        raise ValueError(f"{len(on_rewards)} on-policy groups but {len(off_rewards)} off-policy groups")
    v_on = v_off = 0
    for on_group, off_group in zip(on_rewards, off_rewards):
        for r_on in on_group:
            for r_off in off_group:
                if r_on > r_off:
                    v_on += 1
                else:
                    v_off += 1
    return v_on, v_off


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def decide_source(v_on: int, v_off: int, previous: str = "off", hysteresis: bool = False,
                  latch: bool = False) -> BoundaryVerdict:
    """BS_on = V_on / (V_on + V_off); off iff BS_on < 0.5, with optional hysteresis and latch."""
    total = v_on + v_off
    bs_on = v_on / total if total else 0.0
    low, high = wilson_interval(v_on, total)
    if latch and previous == "on":
        source = "on"
    elif hysteresis and previous == "off":
        source = "on" if low > 0.5 else "off"
    else:
        source = "off" if bs_on < 0.5 else "on"
    return BoundaryVerdict(v_on, v_off, bs_on, low, high, source)
