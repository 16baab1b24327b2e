"""An app given as a package folder is every module of the package: handlers in a module whose name
starts with 'test' or '_' count; tests (tests/, test_*.py, *_test.py, conftest.py, tests.py,
testing.py) and ``__main__`` are never imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]

ROUTE = "from flowfn import on_http\n@on_http('GET', '/{name}')\ndef {name}(request):\n    return '{name}'\n"
NEVER = "raise RuntimeError('not part of the app: never imported')\n"


def test_every_module_of_the_package_is_loaded(tmp_path: Path) -> None:
    pkg = tmp_path / "shop"
    (pkg / "api").mkdir(parents=True)
    (pkg / "tests").mkdir()
    for init in (pkg / "__init__.py", pkg / "api" / "__init__.py", pkg / "tests" / "__init__.py"):
        init.write_text("")
    (pkg / "testimonials.py").write_text(ROUTE.replace("{name}", "testimonials"))
    (pkg / "api" / "_routes.py").write_text(ROUTE.replace("{name}", "routes"))
    (pkg / "api" / "orders.py").write_text(ROUTE.replace("{name}", "orders"))
    for never in ("test_orders.py", "orders_test.py", "conftest.py", "__main__.py", "tests/helpers.py",
                  "tests/test_api.py", "api/tests.py", "api/testing.py"):
        (pkg / never).write_text(NEVER)
    env = {**os.environ, "COLUMNS": "300"}
    result = subprocess.run([*CLI, "list", "shop"], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "shop: 3 functions" in result.stdout
    for route in ("GET /testimonials", "GET /routes", "GET /orders"):
        assert route in result.stdout


def test_a_module_target_is_found_from_the_current_folder(tmp_path: Path) -> None:
    # -P: no current folder on sys.path, as under the `flowfn` console script.
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "__init__.py").write_text("")
    (tmp_path / "svc" / "main.py").write_text(
        "from flowfn import App\napp = App('svc')\n@app.on_http('GET', '/health')\ndef health(request): ...\n")
    for target in ("svc.main:app", "svc.main"):
        result = subprocess.run([sys.executable, "-P", "-c", "from flowfn.cli import main; main()", "list", target],
                                capture_output=True, text=True, cwd=tmp_path, timeout=120,
                                env={**os.environ, "COLUMNS": "300"})
        assert result.returncode == 0, result.stderr
        assert "svc: 1 functions" in result.stdout and "GET /health" in result.stdout


def test_a_clash_between_two_modules_names_the_second_ones_decorator(tmp_path: Path) -> None:
    pkg = tmp_path / "shop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from flowfn import on_http\n@on_http('GET', '/health')\ndef health(request): ...\n")
    (pkg / "b.py").write_text("from flowfn import on_http\n\n@on_http('GET', '/health')\ndef ping(request): ...\n")
    result = subprocess.run([*CLI, "list", "shop"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {pkg.resolve() / 'b.py'}:3: handler 'ping', argument 'http': it and handler "
                           "'health' both serve GET on the same route")


def test_handlers_beside_an_explicit_app_that_does_not_hold_them_are_refused(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from flowfn import App, on_http\n"
        "app = App('mix')\n"
        "@app.on_http('GET', '/a')\n"
        "def a(request): ...\n"
        "@on_http('GET', '/b')\n"
        "def b(request): ...\n"
    )
    for target in ("app.py", "app:app"):
        result = subprocess.run([*CLI, "list", target], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert result.returncode == 1, result.stdout
        (line,) = result.stderr.strip().splitlines()
        assert line == (f"error: {target}: App('mix', 1 handlers) does not hold the handlers registered with "
                        "module-level decorators ('b' in app), so they would never run. Fix: register them on "
                        "the app (@app.on_http(...) for @on_http(...)), or drop the App and use module-level "
                        "decorators only.")


def test_a_module_attribute_app_whose_handlers_are_elsewhere_says_how_to_load_them(tmp_path: Path) -> None:
    pkg = tmp_path / "shop"
    (pkg / "handlers").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "handlers" / "__init__.py").write_text("")
    (pkg / "main.py").write_text("from flowfn import App\napp = App('shop')\n")
    (pkg / "handlers" / "api.py").write_text(
        "from shop.main import app\n@app.on_http('GET', '/health')\ndef health(request): ...\n")
    folder = subprocess.run([*CLI, "list", "shop"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env={**os.environ, "COLUMNS": "300"})
    assert folder.returncode == 0 and "GET /health" in folder.stdout, folder.stderr
    module = subprocess.run([*CLI, "list", "shop.main:app"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert module.returncode == 1
    (line,) = module.stderr.strip().splitlines()
    assert line == ("error: shop.main:app: the app has no handlers once shop.main is imported; a "
                    "module:attribute app is that one module, not the other modules of shop. Fix: give the "
                    "package folder as the app (shop), whose modules are all imported, or import, at the end "
                    "of shop.main, the modules that decorate handlers with @app.on_....")
