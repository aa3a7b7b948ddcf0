"""User plug-ins: modules (or .py files) imported before a run, in the driver and in every actor.

A plug-in registers its own algorithms, data kinds, generation backends, weight transports or
reward kinds at import time. The run config names plug-ins in `plugins`; each process imports
them once. A file already imported under another module name (a test module pytest collected,
say) is reused, so nothing registers twice.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


class PluginError(ImportError):
    """A plug-in named in the config cannot be imported; the message names it."""


def _loaded_from(path: Path) -> ModuleType | None:
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == path:
            return module
    return None


def load_plugin(name: str) -> ModuleType:
    """Import `pkg.module` by name, or a `path/to/file.py` (relative to the working directory) as module `file`."""
    if name.endswith(".py"):
        path = Path(name).expanduser().resolve()
        if not path.is_file():
            raise PluginError(f"plugin {name!r}: no such file")
        module = _loaded_from(path)
        if module is not None:
            return module
        module_name = path.stem  # so `reward.function: my_plugin:score` finds a function in my_plugin.py
        if module_name in sys.modules:
            raise PluginError(f"plugin {name!r}: a different module named {module_name!r} is already imported "
                              f"({getattr(sys.modules[module_name], '__file__', 'built in')}); rename the file")
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[module_name]
            raise PluginError(f"plugin {name!r} failed to import: {type(err).__name__}: {err}") from err
        return module
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise PluginError(f"plugin {name!r} cannot be imported: {err}") from err


def load_plugins(names: list[str] | tuple[str, ...] | None) -> None:
    for name in names or ():
        load_plugin(name)
