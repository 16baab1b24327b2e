"""Finding and importing a user's app: a ``.py`` file, a package folder or ``module:attribute``.

Used by the CLI, by flowfn.testing and by the runtime inside Lambda, so it imports nothing heavy.
"""

from __future__ import annotations

import importlib
import os.path
import sys
from types import ModuleType
from typing import Any

from flowfn.app import MODULE_APP_ATTR, App, AppOrigin
from flowfn.errors import AppLoadError, ConfigError
from flowfn.resources import Resource

__all__ = ["find_app", "load_app"]


def load_app(target: str, *, require_handlers: bool = True, fresh: bool = False) -> App:
    """Import ``target`` and return its app.

    ``target`` is a path to a ``.py`` file, a path to a package folder, or an importable
    ``module`` / ``module:attribute``. Import errors become AppLoadError naming the file and line.
    ``fresh=True`` re-imports every module of the app's folder (code reload).
    """
    root, module_name, attr = _resolve(target)
    if root is not None:
        if root in sys.path:
            sys.path.remove(root)
        sys.path.insert(0, root)
        _evict(module_name, root, fresh)
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # found from the current folder, as `python -m` finds it
        loaded = sys.modules.get(module_name) if fresh else None
        if loaded is not None:  # a reload: import again what the module's folder holds
            _evict(module_name, _module_root(loaded), fresh)
    module = _import(module_name, target)
    if attr is not None:
        app = getattr(module, attr, None)
        if not isinstance(app, App):
            found = type(app).__name__ if app is not None else "missing"
            raise AppLoadError(
                f"{target}: {module_name}.{attr} is {found}, not a flowfn App. Point at the App "
                "object, for example 'shop.handlers:app'."
            )
        _no_strays(app, [module], target)
        _collect_resources(app, [module])
    else:
        modules = [module, *_submodules(module, target)]
        app = find_app(modules, target)
    if require_handlers and not app.handlers:
        if attr is not None and "." in module_name:  # its handlers may be in modules not imported
            package = module_name.split(".")[0]
            raise AppLoadError(
                f"{target}: the app has no handlers once {module_name} is imported; a module:attribute "
                f"app is that one module, not the other modules of {package}. Fix: give the package "
                f"folder as the app ({package}), whose modules are all imported, or import, at the end "
                f"of {module_name}, the modules that decorate handlers with @{attr}.on_...."
            )
        raise AppLoadError(
            f"{target}: the app has no handlers. Decorate a function with @on_s3, @on_sqs, "
            "@on_schedule or @on_http in that module."
        )
    module_root = root if root is not None else _module_root(module)
    app.origin = AppOrigin(root=module_root, module=module_name, attr=attr)
    if app.name is None or app.name == module_name.rsplit(".", 1)[-1]:
        app.name = _app_name(module_name, module_root)
    return app


def _evict(module_name: str, root: str, fresh: bool) -> None:
    """Drop cached modules that would shadow the app's own: another file of the same name
    (two examples' ``app.py``), or, with ``fresh``, every module loaded from ``root``."""
    top = module_name.split(".")[0]
    cached = sys.modules.get(top)
    if cached is not None:
        file = getattr(cached, "__file__", None) or ""
        if not _under(file, root):
            fresh = True
    if not fresh:
        return
    base = os.path.realpath(root)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name.startswith("flowfn"):
            continue
        own = name == top or name.startswith(top + ".")
        local = bool(file) and "site-packages" not in str(file) and _under(str(file), base, real_root=True)
        if own or local:
            del sys.modules[name]
    importlib.invalidate_caches()


def _under(file: str, root: str, real_root: bool = False) -> bool:
    # os.path, not pathlib: this module is on a Lambda cold start, and pathlib costs milliseconds.
    real, base = os.path.realpath(file), root if real_root else os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def _is_package(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, "__init__.py"))


def find_app(modules: list[ModuleType], target: str) -> App:
    """The one App the modules define, or the merge of their module-level decorator apps."""
    explicit = {
        id(value): value
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, App) and name != MODULE_APP_ATTR
    }
    if len(explicit) > 1:
        names = ", ".join(sorted(
            f"{m.__name__}:{n}" for m in modules for n, v in vars(m).items()
            if isinstance(v, App) and n != MODULE_APP_ATTR
        ))
        raise AppLoadError(f"{target} defines several apps ({names}); name one as module:attribute.")
    if explicit:
        app: App = next(iter(explicit.values()))
        _no_strays(app, modules, target)
    else:
        app = App(None)
        for module in modules:
            implicit = vars(module).get(MODULE_APP_ATTR)
            if isinstance(implicit, App):
                app.merge(implicit)
    _collect_resources(app, modules)
    return app


def _no_strays(app: App, modules: list[ModuleType], target: str) -> None:
    """AppLoadError when handlers registered with module-level decorators sit beside an explicit App
    that does not hold them: they would never run, nor be deployed."""
    strays = [f"{h.name!r} in {module.__name__}" for module in modules
              for implicit in (vars(module).get(MODULE_APP_ATTR),)
              if isinstance(implicit, App) and implicit is not app for h in implicit.handlers]
    if strays:
        raise AppLoadError(
            f"{target}: {app!r} does not hold the handlers registered with module-level decorators "
            f"({', '.join(strays)}), so they would never run. Fix: register them on the app "
            "(@app.on_http(...) for @on_http(...)), or drop the App and use module-level decorators only."
        )


def _collect_resources(app: App, modules: list[ModuleType]) -> None:
    for module in modules:
        for value in list(vars(module).values()):
            if isinstance(value, Resource) and not getattr(value, "is_dlq", False):
                app.declare(value)


def _resolve(target: str) -> tuple[str | None, str, str | None]:
    if target.endswith(".py") or os.path.isfile(target):
        if not os.path.isfile(target):
            raise AppLoadError(f"{target}: no such file. Give the path to your app's .py file.")
        path = os.path.realpath(target)
        folder, stem = os.path.dirname(path), os.path.splitext(os.path.basename(path))[0]
        if _is_package(folder) and stem != "__init__":
            # A module inside a package: import it with its package name.
            parts = [stem]
            while _is_package(folder):
                parts.insert(0, os.path.basename(folder))
                folder = os.path.dirname(folder)
            return folder, ".".join(parts), None
        return folder, stem, None
    if os.path.isdir(target):
        path = os.path.realpath(target)
        if not _is_package(path):
            raise AppLoadError(
                f"{target}: a folder but not a package (no __init__.py). Point at the .py file "
                "that holds your handlers, or add an __init__.py."
            )
        return os.path.dirname(path), os.path.basename(path), None
    if "/" in target or target.startswith("."):
        raise AppLoadError(f"{target}: no such file or folder.")
    module, _, attr = target.partition(":")
    if not module.replace(".", "").replace("_", "").isalnum():
        raise AppLoadError(f"{target}: not a file, a folder or a module name (module:attribute).")
    return None, module, attr or None


def _import(module_name: str, target: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise AppLoadError(
                f"{target}: module {module_name!r} cannot be found. Run from the folder that holds "
                "it, or give the path to its .py file."
            ) from None
        raise _failed(target, exc) from exc
    except AppLoadError:
        raise
    except ConfigError as exc:
        # A declaration flowfn refused: its message, at the user's line, is the whole story.
        if exc.where is None:
            frame = _user_frame(exc)
            if frame is not None:
                exc.locate(frame.filename, frame.lineno or 0)
        raise AppLoadError(str(exc)) from exc
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _failed(target, exc) from exc


def _failed(target: str, exc: BaseException) -> AppLoadError:
    """The error for an app whose import raised ``exc``: what, where, and how to fix it if known."""
    from flowfn.loader_hints import fix_for  # only on failure

    frame = _user_frame(exc)
    fix = fix_for(exc, frame.filename if frame is not None else None)
    return AppLoadError(f"{target}: importing it failed: {_where(exc)}" + (f". {fix}" if fix else ""))


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_frame(exc: BaseException) -> Any:
    import traceback  # only on failure: it costs a Lambda cold start over a millisecond

    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename and not f.filename.startswith(_PACKAGE_DIR)]
    return user[-1] if user else None


def _where(exc: BaseException) -> str:
    import traceback  # only on failure: it costs a Lambda cold start over a millisecond

    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename]
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{type(exc).__name__}: {exc.msg} ({exc.filename}, line {exc.lineno})"
    if user:
        # The app's line that called into flowfn (`BUCKET = uploads.name`), not flowfn's own.
        last = next((f for f in reversed(user) if not f.filename.startswith(_PACKAGE_DIR)), user[-1])
        return f"{type(exc).__name__}: {exc} ({last.filename}, line {last.lineno})"
    return f"{type(exc).__name__}: {exc}"


#: Package folders that hold tests, not the app (the code asset leaves them out too).
TEST_PACKAGES = frozenset({"tests", "test"})


def is_test_module(name: str) -> bool:
    """Whether a module's name (without ``.py``) is a test's: ``test_*``, ``*_test`` or ``conftest``
    (the code asset leaves them out too)."""
    return name == "conftest" or name.startswith("test_") or name.endswith("_test")


#: What a package holds besides the app: tests, ``tests.py`` and ``testing`` (which may import a
#: test framework a function does not have), and ``__main__``, which runs a program.
_NOT_APP_PACKAGES = TEST_PACKAGES | {"testing"}
_NOT_APP_MODULES = frozenset({"__main__", "tests", "test", "testing"})


def _submodules(module: ModuleType, target: str) -> list[ModuleType]:
    """Every module of a package, in name order, nested packages included, tests left out."""
    path = getattr(module, "__path__", None)
    if path is None:
        return []
    found = []
    import pkgutil  # only for packages

    for info in sorted(pkgutil.iter_modules(path, module.__name__ + "."), key=lambda i: i.name):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf in (_NOT_APP_PACKAGES if info.ispkg else _NOT_APP_MODULES) or (
                not info.ispkg and is_test_module(leaf)):
            continue
        submodule = _import(info.name, target)
        found.append(submodule)
        found.extend(_submodules(submodule, target))
    return found


def _module_root(module: ModuleType) -> str:
    file = getattr(module, "__file__", None)
    if not file:
        return os.getcwd()
    path = os.path.dirname(os.path.realpath(str(file)))
    for _ in range(module.__name__.count(".") + (1 if hasattr(module, "__path__") else 0)):
        path = os.path.dirname(path)
    return path


def _app_name(module_name: str, root: str) -> str:
    leaf = module_name.rsplit(".", 1)[-1]
    if leaf in ("app", "main", "handlers", "__init__"):
        leaf = os.path.basename(root) if module_name.count(".") == 0 else module_name.split(".")[0]
    return leaf
