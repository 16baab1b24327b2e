"""Loading an app from a file, a package folder or module:attribute, and the errors on the way."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowfn import AppLoadError
from flowfn.loader import load_app

HANDLERS = """
from flowfn import Bucket, Queue, on_s3, on_sqs
uploads = Bucket("uploads")
spare = Queue("spare")
@on_s3(uploads)
def resize(record, context):
    return "{tag}"
"""


@pytest.fixture(autouse=True)
def _restore_import_state() -> Iterator[None]:
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_file_target(tmp_path: Path) -> None:
    target = write(tmp_path / "photos" / "app.py", HANDLERS.format(tag="a"))
    app = load_app(str(target))
    assert app.name == "photos"
    assert [h.name for h in app.handlers] == ["resize"]
    # Resources found in the module are declared even when no handler uses them.
    assert [r.logical_name for r in app.resources] == ["uploads", "spare"]
    assert app.origin is not None and app.origin.target == "app"
    assert app.origin.root == str(target.parent.resolve())


def test_two_files_with_the_same_name_do_not_shadow_each_other(tmp_path: Path) -> None:
    first = load_app(str(write(tmp_path / "one" / "app.py", HANDLERS.format(tag="one"))))
    second = load_app(str(write(tmp_path / "two" / "app.py", HANDLERS.format(tag="two"))))
    assert first.handler("resize").fn(None, None) == "one"
    assert second.handler("resize").fn(None, None) == "two"


def test_fresh_reload_picks_up_changes(tmp_path: Path) -> None:
    target = write(tmp_path / "svc" / "app.py", HANDLERS.format(tag="old"))
    assert load_app(str(target)).handler("resize").fn(None, None) == "old"
    write(target, HANDLERS.format(tag="new"))
    assert load_app(str(target), fresh=True).handler("resize").fn(None, None) == "new"


def test_package_folder_merges_its_modules(tmp_path: Path) -> None:
    pkg = tmp_path / "shop"
    write(pkg / "__init__.py", "")
    write(pkg / "resources.py", "from flowfn import Bucket, Queue\nuploads = Bucket('uploads')\njobs = Queue('jobs')\n")
    write(pkg / "ingest.py", "from flowfn import on_s3\nfrom shop.resources import uploads, jobs\n"
          "@on_s3(uploads, uses=[jobs.send()])\ndef ingest(record, context): ...\n")
    write(pkg / "work.py", "from flowfn import on_sqs\nfrom shop.resources import jobs\n"
          "@on_sqs(jobs)\ndef work(record, context): ...\n")
    write(pkg / "test_ingest.py", "raise RuntimeError('tests are not part of the app')\n")
    app = load_app(str(pkg))
    assert sorted(h.name for h in app.handlers) == ["ingest", "work"]
    assert app.name == "shop"


def test_module_attribute_target(tmp_path: Path) -> None:
    # A module name no other test imports: one already imported would be found instead.
    write(tmp_path / "loader_svc.py", "from flowfn import App, Bucket\napp = App('svc')\n"
          "@app.on_s3(Bucket('uploads'))\ndef f(record, context): ...\n")
    sys.path.insert(0, str(tmp_path))
    assert load_app("loader_svc:app").name == "svc"
    assert load_app("loader_svc").name == "svc"
    with pytest.raises(AppLoadError, match=r"loader_svc\.nothing is missing, not a flowfn App"):
        load_app("loader_svc:nothing")


@pytest.mark.parametrize(
    ("files", "target", "message"),
    [
        ({}, "missing.py", "missing.py: no such file"),
        ({}, "./nowhere", "no such file or folder"),
        ({"plain/x.txt": ""}, "plain", "not a package"),
        ({"broken.py": "import not_a_module_anywhere\n"}, "broken.py",
         r"ModuleNotFoundError: No module named 'not_a_module_anywhere' \(.*broken.py, line 1\)"),
        ({"syntax.py": "def f(:\n"}, "syntax.py", r"SyntaxError: .*syntax.py, line 1"),
        ({"boom.py": "x = 1\nraise ValueError('bad config')\n"}, "boom.py",
         r"ValueError: bad config \(.*boom.py, line 2\)"),
        ({"empty.py": "x = 1\n"}, "empty.py", "no handlers"),
        ({}, "no_such_module_xyz", "cannot be found"),
        ({"twoapps.py": "from flowfn import App\na = App('a')\nb = App('b')\n"}, "twoapps.py",
         "several apps"),
    ],
)
def test_load_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     files: dict[str, str], target: str, message: str) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AppLoadError, match=message):
        load_app(target)


def test_config_errors_surface_on_load(tmp_path: Path) -> None:
    target = write(tmp_path / "bad.py", "from flowfn import Bucket, on_s3\n@on_s3(Bucket('uploads'), memory_mb=1)\n"
                   "def f(record, context): ...\n")
    with pytest.raises(AppLoadError, match=r"handler 'f', argument 'memory_mb'"):
        load_app(str(target))
