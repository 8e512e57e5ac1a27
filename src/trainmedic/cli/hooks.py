"""Post-import hooks: patch a framework the moment the user's script imports it (never import it ourselves)."""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Callable


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, callbacks: dict[str, Callable[[object], None]]):
        self.callbacks = callbacks
        self._busy: set[str] = set()

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.callbacks or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        loader = spec.loader
        callback = self.callbacks[fullname]

        class Loader(importlib.abc.Loader):
            def create_module(self, spec_):
                return loader.create_module(spec_)

            def exec_module(self, module):
                loader.exec_module(module)
                callback(module)

        spec.loader = Loader()
        return spec


class PostImportHooks:
    """Call ``callback(module)`` right after ``name`` is imported (at once if it already is)."""

    def __init__(self) -> None:
        self.callbacks: dict[str, Callable[[object], None]] = {}
        self.finder = _Finder(self.callbacks)

    def on_import(self, name: str, callback: Callable[[object], None]) -> None:
        if name in sys.modules:
            callback(sys.modules[name])
        else:
            self.callbacks[name] = callback

    def install(self) -> None:
        sys.meta_path.insert(0, self.finder)

    def uninstall(self) -> None:
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)


import importlib.util  # noqa: E402  (used inside find_spec)
