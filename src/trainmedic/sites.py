"""Creation sites: where in the *user's* code an object (layer, optimizer, loss, compile/fit call) was made.

Integrations call :func:`remember` from patched constructors; rules read :func:`site_of`. Only user frames
count: frames inside site-packages, the standard library, frozen modules or trainmedic itself are skipped.
"""
from __future__ import annotations

import linecache
import os
import sys
import sysconfig
import weakref
from typing import Any

from .facts import Location

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_SKIP = tuple({os.path.abspath(p) for p in (sysconfig.get_paths().get("stdlib", ""),
                                            sysconfig.get_paths().get("platstdlib", ""),
                                            sysconfig.get_paths().get("purelib", ""),
                                            sysconfig.get_paths().get("platlib", "")) if p})
_sites: "weakref.WeakKeyDictionary[Any, Location]" = weakref.WeakKeyDictionary()
_by_id: dict[int, Location] = {}
_events: dict[str, Location] = {}
_settings: "weakref.WeakKeyDictionary[Any, dict[str, Location]]" = weakref.WeakKeyDictionary()


def is_user_file(filename: str) -> bool:
    if not filename or filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if path.startswith(_PKG_DIR):
        return False
    if "site-packages" in path or "dist-packages" in path:
        return False
    return not any(path.startswith(p + os.sep) for p in _SKIP)


def user_location(depth: int = 1, skip=None) -> Location | None:
    """The innermost frame of user code on the current stack, as a Location (or None); ``skip(frame)``: user
    frames to pass over as well."""
    frame = sys._getframe(depth)
    while frame is not None:
        fn = frame.f_code.co_filename
        if is_user_file(fn) and not (skip is not None and skip(frame)):
            return location(fn, frame.f_lineno)
        frame = frame.f_back
    return None


def location(file: str, line: int) -> Location:
    """Line ``line`` of ``file`` as a Location, with its source text."""
    return Location(file=display_path(file), line=int(line), code=linecache.getline(file, line).strip() or None)


def _parse(file: str):
    """The ``ast`` of a user's source file, or None when it cannot be read."""
    import ast

    if not os.path.isfile(file):
        return None
    try:
        return ast.parse(open(file, encoding="utf-8").read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _last_assignment(tree, names, before: int, in_place: bool = False):
    """The last statement ending before line ``before`` that assigns one of ``names`` (with ``in_place``
    also augmented assignments and call statements that may change a name in place: ``rng.shuffle(x)``,
    ``x.sort()``), or None."""
    import ast

    best = None
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) or (in_place and isinstance(node, ast.AugAssign)):
            targets = [node.target]
        elif in_place and isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            f = call.func
            pure = isinstance(f, ast.Name) and f.id in ("print", "len", "repr", "str", "type", "display", "id")
            targets = [] if pure else [a for a in call.args if isinstance(a, ast.Name)]
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                targets.append(f.value)
        if any(isinstance(n, ast.Name) and n.id in names for t in targets for n in ast.walk(t)) \
                and (node.end_lineno or node.lineno) < before and (best is None or node.lineno > best.lineno):
            best = node
    return best


def display_path(fn: str) -> str:
    """A user file as reports show it: relative to the working directory when under it."""
    return os.path.relpath(fn) if _under_cwd(fn) else fn


def _under_cwd(fn: str) -> bool:
    try:
        return os.path.abspath(fn).startswith(os.getcwd() + os.sep)
    except OSError:
        return False


def remember(obj: Any, location: Location | None = None) -> None:
    """Record where ``obj`` was created (the innermost user frame unless ``location`` is given)."""
    loc = location or user_location(2)
    if loc is None:
        return
    try:
        if obj not in _sites:
            _sites[obj] = loc
    except TypeError:  # not weak-referenceable / unhashable
        _by_id.setdefault(id(obj), loc)


def site_of(obj: Any) -> Location | None:
    if obj is None:
        return None
    try:
        loc = _sites.get(obj)
    except TypeError:
        loc = None
    return loc or _by_id.get(id(obj))


def remember_event(name: str, location: Location | None = None, overwrite: bool = False) -> None:
    """Record where a named event happened in user code (``compile``, ``fit``, ``backward``...)."""
    loc = location or user_location(2)
    if loc is not None and (overwrite or name not in _events):
        _events[name] = loc


def event_site(name: str) -> Location | None:
    return _events.get(name)


def remember_setting(obj: Any, key: str, location: Location | None = None) -> None:
    """Record where a setting of ``obj`` was changed after its creation (``layer.trainable = False``)."""
    loc = location or user_location(2)
    if loc is None:
        return
    try:
        _settings.setdefault(obj, {})[key] = loc
    except TypeError:
        pass


def setting_site(obj: Any, key: str) -> Location | None:
    try:
        return (_settings.get(obj) or {}).get(key)
    except TypeError:
        return None


def clear() -> None:
    _sites.clear()
    _by_id.clear()
    _events.clear()
    _settings.clear()


def data_origin(call_site: Location | None, method: str = "fit", keyword: str | None = None) -> Location | None:
    """Where the data argument of the ``method(...)`` call at ``call_site`` was last assigned.

    Reads the user's source with ``ast``: for ``model.fit(x_train, y)`` at line 40 it returns the last
    ``x_train = ...`` (or augmented assignment, or a call statement that may change it in place:
    ``rng.shuffle(x_train)``, ``x_train.sort()``) before line 40 in the same file, or None. With ``keyword``
    the argument is that keyword's value instead (``validation_data=(x_val, y_val)``: ``x_val``).
    """
    import ast

    if call_site is None:
        return None
    tree = _parse(call_site.file)
    if tree is None:
        return None
    name = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method \
                and node.lineno <= call_site.line <= (node.end_lineno or node.lineno):
            if keyword is None:
                arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "x"), None)
            else:
                arg = next((k.value for k in node.keywords if k.arg == keyword), None)
                if isinstance(arg, (ast.Tuple, ast.List)) and arg.elts:
                    arg = arg.elts[0]
            if isinstance(arg, ast.Name):
                name = arg.id
            break
    if name is None:
        return None
    best = _last_assignment(tree, {name}, call_site.line, in_place=True)
    return location(call_site.file, best.lineno) if best is not None else None


def returned_at(fn: Any) -> Location | None:
    """The last ``return`` statement of a function in the user's code (where a custom loss is computed)."""
    import ast
    import inspect
    import textwrap

    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None or not is_user_file(code.co_filename):
        return None
    try:
        lines, first = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    rets = [n for n in ast.walk(tree) if isinstance(n, ast.Return) and n.value is not None]
    if not rets:
        return None
    return location(code.co_filename, first + max(r.lineno for r in rets) - 1)


def assignment_of(obj: Any) -> Location | None:
    """Where ``obj`` was assigned to the name it has in the innermost user frame: ``init = Constant(0.05)``
    for the ``init`` passed on a later line (the last such assignment before that frame's line), or None."""
    frame = sys._getframe(1)
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    names = {k for scope in (frame.f_locals, frame.f_globals) for k, v in scope.items() if v is obj}
    file, line = frame.f_code.co_filename, frame.f_lineno
    del frame
    tree = _parse(file) if names else None
    best = _last_assignment(tree, names, line) if tree is not None else None
    return location(file, best.lineno) if best is not None else None


def callers(loc: Location | None, limit: int = 2) -> list[Location]:
    """When ``loc`` is inside a function of the user's file, the statements of that file that call the
    function (``model.eval()`` inside ``def evaluate`` -> the lines calling ``evaluate(...)``)."""
    import ast

    tree = _parse(loc.file) if loc is not None else None
    if tree is None:
        return []
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and n.lineno <= loc.line <= (n.end_lineno or n.lineno)]
    if not funcs:
        return []
    fn = max(funcs, key=lambda n: n.lineno)  # the innermost
    stmts = [n for n in ast.walk(tree) if isinstance(n, ast.stmt)
             and not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While,
                                    ast.If, ast.With, ast.Try))]
    out: list[Location] = []
    for st in sorted(stmts, key=lambda n: n.lineno):
        if fn.lineno <= st.lineno <= (fn.end_lineno or fn.lineno):
            continue
        if any(isinstance(c, ast.Call) and ((isinstance(c.func, ast.Name) and c.func.id == fn.name)
                                            or (isinstance(c.func, ast.Attribute) and c.func.attr == fn.name))
               for c in ast.walk(st)):
            out.append(location(loc.file, st.lineno))
            if len(out) >= limit:
                break
    return out
