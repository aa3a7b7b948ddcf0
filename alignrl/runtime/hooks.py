"""Step hooks: runtime work an algorithm asks for between learner steps, registered by name.

An algorithm's spec lists `StepHook(name, every, ...)`; the runtime builds each hook once per run
from this registry and calls it after every `every`-th step (and before the first with `at_start`).

- `reset_reference`: ref = the current policy; examples scored under the old one are evicted.
- `boundary_probe`: the on/off boundary probe picks the data source of the next iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alignrl.algorithms import StepHook, get_algorithm
from alignrl.registry import Registry
from alignrl.runtime.boundary_probe import BoundaryProbe

# factory(cfg, handles, tokenizer, sink, options) -> fn(controller, version)
HookFactory = Callable[..., Callable]
HOOKS: Registry[HookFactory] = Registry("step hook", "register one with alignrl.runtime.hooks.register_hook")


def register_hook(name: str, factory: HookFactory) -> HookFactory:
    return HOOKS.register(name, factory)


def _reset_reference(cfg, handles, tokenizer, sink, options):
    return lambda controller, version: controller.reset_reference(version)


def _boundary_probe(cfg, handles, tokenizer, sink, options):
    probe = BoundaryProbe(cfg, handles, tokenizer, sink, options)
    return lambda controller, version: controller.switch_source(probe(controller, version))


register_hook("reset_reference", _reset_reference)
register_hook("boundary_probe", _boundary_probe)


@dataclass
class ActiveHook:
    spec: StepHook
    run: Callable

    def due(self, version: int, total_steps: int) -> bool:
        if version == 0:
            return self.spec.at_start
        return version % self.spec.every == 0 and (version < total_steps or self.spec.at_end)


def build_hooks(cfg, handles, tokenizer, sink) -> list[ActiveHook]:
    """The algorithm's hooks for this run, in the order its spec lists them."""
    specs = get_algorithm(cfg.algorithm.name).hooks(cfg.algorithm)
    return [ActiveHook(s, HOOKS.get(s.name)(cfg, handles, tokenizer, sink, s.options)) for s in specs]
