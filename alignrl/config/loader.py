"""YAML -> RunConfig, with `--set a.b=c` overrides and errors that name the key and the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from alignrl.algorithms import ALGORITHMS, get_algorithm
from alignrl.config.schema import RunConfig
from alignrl.plugins import PluginError, load_plugins
from alignrl.typed import StrictModel


class ConfigError(ValueError):
    """A config that cannot be used; the message names the file and every offending key."""


class _ConfigLoader(yaml.SafeLoader):
    """YAML as configs are written: `1e-4` is a number, as in YAML 1.2 (PyYAML's 1.1 rules read it as a string)."""


_ConfigLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def _yaml(text: str):
    return yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def _error_lines(err: ValidationError, prefix: tuple = ()) -> list[str]:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in prefix + tuple(e["loc"])) or "<root>"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; `alignrl config --fields` lists every field)"
        elif "input" in e and not isinstance(e["input"], dict) and e["type"] != "value_error":
            msg = f"{msg} (got {e['input']!r})"
        if key == "<root>" and re.match(r"^[\w.]+: ", msg):
            key, msg = msg.split(": ", 1)  # a cross-field check names its own key
        lines.append(f"  {key}: {msg}")
    return lines


def _algorithm_errors(data: dict) -> list[str]:
    """Validate the algorithm block on its own, so its errors name `algorithm.<field>` (then it is replaced
    by the typed parameters, and RunConfig's own check sees a valid block)."""
    block = data.get("algorithm")
    if not isinstance(block, dict) or block.get("name") not in ALGORITHMS:
        return []  # RunConfig's validator reports a missing or unknown name
    try:
        data["algorithm"] = get_algorithm(block["name"]).params.model_validate(block)
    except ValidationError as err:
        data["algorithm"] = get_algorithm(block["name"]).params()
        return _error_lines(err, ("algorithm",))
    return []


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b=c` -> (['a', 'b'], c parsed as YAML, so numbers and booleans get their types)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key.path=value")
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(f"override {item!r} has an empty key segment")
    return parts, _yaml(raw) if raw.strip() else ""


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    for item in overrides:
        parts, value = parse_override(item)
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part} is a value, not a section")
            node = child
        node[parts[-1]] = value
    return data


def load_config_dict(data: dict, source: str = "<dict>", model=RunConfig):
    """Validate a config mapping; run configs first import their `plugins`, which may register algorithms."""
    errors: list[str] = []
    if model is RunConfig:
        plugins = data.get("plugins") or []
        if isinstance(plugins, list) and all(isinstance(p, str) for p in plugins):
            try:
                load_plugins(plugins)
            except PluginError as err:
                raise ConfigError(f"invalid config {source}:\n  plugins: {err}") from None
        data = dict(data)
        errors = _algorithm_errors(data)
    try:
        config = model.model_validate(data)
    except ValidationError as err:
        errors += _error_lines(err)
    if errors:
        raise ConfigError("\n".join([f"invalid config {source}:", *errors]))
    return config


def merge_sections(base: dict, override: dict) -> dict:
    """Deep-merge `override` into `base`; an algorithm block naming another algorithm replaces the base's."""
    out = dict(base)
    for key, value in override.items():
        replace = key == "algorithm" and isinstance(value, dict) and value.get("name", base.get(key, {}).get("name")) \
            != base.get(key, {}).get("name")
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not replace:
            out[key] = merge_sections(out[key], value)
        else:
            out[key] = value
    return out


def read_config_mapping(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A config file as a dict; `extends: other.yaml` (relative to the file) is merged underneath it."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist" + (f" (extended by {seen[-1]})" if seen else ""))
    if path.resolve() in seen:
        raise ConfigError(f"config file {path} extends itself through {' -> '.join(map(str, seen))}")
    try:
        data = _yaml(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, got {type(data).__name__}")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    return merge_sections(read_config_mapping(path.parent / str(parent), seen + (path.resolve(),)), data)


def load_config(path: str | Path, overrides: list[str] | None = None, model=RunConfig):
    """Read a YAML run config (and what it extends), apply overrides, and validate it before anything starts."""
    path = Path(path)
    data = apply_overrides(read_config_mapping(path), overrides or [])
    return load_config_dict(data, str(path), model)


def dump_config(config: RunConfig) -> str:
    """The resolved config as YAML, every default filled in."""
    return yaml.safe_dump(config.model_dump(mode="json", by_alias=True), sort_keys=False)


def describe_fields(model=RunConfig, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, doc) for every field, recursing into sections and each algorithm's block."""
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        ann = field.annotation
        if model is RunConfig and name == "algorithm":
            rows.append((key, "section", "", "one block per algorithm, picked by `name`"))
            for algo, spec in ALGORITHMS.items():
                rows.extend(r for r in describe_fields(spec.params, f"{key}[{algo}].") if not r[0].endswith(".name"))
        elif isinstance(ann, type) and issubclass(ann, StrictModel):
            rows.append((key, "section", "", field.description or ""))
            rows.extend(describe_fields(ann, key + "."))
        else:
            default = "" if field.default_factory is not None else repr(field.default)
            rows.append((key, getattr(ann, "__name__", str(ann)).replace("typing.", ""), default, field.description or ""))
    return rows


def sections_fingerprint(cfg, sections: tuple[str, ...]) -> str:
    """A short hash of some config sections: the cache key of what they alone determine (SFT, a reviser)."""
    import hashlib
    import json

    data = {k: getattr(cfg, k).model_dump(mode="json") for k in sections}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
