"""One small registry type behind every extension point: algorithms, data kinds, generation backends,
weight transports and reward kinds.

Entries are registered by name at import time (built-ins by their own modules, user code through
`plugins` in the run config); a lookup of an unknown name says what is registered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str, hint: str = ""):
        self.what = what  # "algorithm", "generation backend", ...
        self.hint = hint  # where to register more, appended to unknown-name errors
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T, replace: bool = False) -> T:
        if name in self._entries and not replace:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        if name not in self._entries:
            hint = f"; {self.hint}" if self.hint else ""
            raise KeyError(f"unknown {self.what} {name!r}; registered: {', '.join(sorted(self._entries))}{hint}")
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self):
        return self._entries.items()

    def values(self):
        return self._entries.values()

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register throw-away plug-ins clean up with this)."""
        self._entries.pop(name, None)
