"""Typed run configuration: YAML in, validated `RunConfig` out."""

from alignrl.config.loader import ConfigError, dump_config, load_config, load_config_dict
from alignrl.config.schema import RunConfig

__all__ = ["ConfigError", "RunConfig", "dump_config", "load_config", "load_config_dict"]
