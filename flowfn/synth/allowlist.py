"""What goes into the code asset: the app's Python modules and packages, and the data it declares.

Pure: it decides on relative paths (``pkg/sub/mod.py``) and on the declarations read from the app's
``pyproject.toml``; :mod:`flowfn.synth.asset` walks the folder and reads the files.

- Modules ship on their own: ``*.py`` files at the root of the app's folder and in its packages
  (folders with an ``__init__.py``, nested), except tests (``tests/``, ``test_*.py``,
  ``*_test.py``, ``conftest.py``).
- Any other file ships only when an ``include`` glob of ``[tool.flowfn]`` names it, relative to the
  app's folder (``fonts/*.ttf``, ``templates`` for a whole folder, ``**/*.json``). Wildcards never
  match hidden names; a pattern names a hidden file only by spelling out its dot.
- A declared file that is hidden or looks like a key, a credential or state (:data:`SECRET_PATTERNS`)
  is refused with an error, unless a ``force_include`` pattern names it too.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flowfn.errors import ConfigError
from flowfn.loader import TEST_PACKAGES, is_test_module

#: Names of files that hold keys, credentials or state, with what each is (lower case; a file's
#: name is compared in lower case). A declared file matching one is refused unless forced.
SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    ("id_rsa*", "an SSH private key"), ("id_dsa*", "an SSH private key"),
    ("id_ecdsa*", "an SSH private key"), ("id_ed25519*", "an SSH private key"),
    ("*.pem", "a key or certificate"), ("*.key", "a private key"), ("*.p8", "a private key"),
    ("*.p12", "a key store"), ("*.pfx", "a key store"), ("*.jks", "a Java key store"),
    ("*.keystore", "a key store"), ("*.ppk", "a PuTTY private key"), ("*.kdbx", "a password database"),
    ("*.crt", "a certificate"), ("*.gpg", "an encrypted secret"), ("*.asc", "a PGP key or signature"),
    ("credentials", "a credentials file"), ("credentials.*", "a credentials file"),
    ("*credentials*.json", "a credentials file"), ("rootkey.csv", "AWS root access keys"),
    ("*accesskeys*.csv", "AWS access keys"), ("service-account*.json", "a service account key"),
    ("client_secret*.json", "an OAuth client secret"), ("secrets.*", "a secrets file"),
    ("*.secret", "a secret"), ("*.secrets", "a secrets file"), ("*.env", "an environment file"),
    ("*.tfvars", "Terraform variables"), ("*.tfstate", "Terraform state"),
    ("*.tfstate.*", "Terraform state"), ("kubeconfig", "a Kubernetes config"),
    ("*.sqlite", "a database"), ("*.sqlite3", "a database"), ("*.db", "a database"),
    ("*.log", "a log"), ("*.log.*", "a log"),
)
#: Folder names that never hold the app's modules.
_NOT_PACKAGES = TEST_PACKAGES | {"__pycache__"}
#: Folder names (lower case) whose files count as secrets wherever they are.
_SECRET_FOLDERS = frozenset({"secret", "secrets", "credentials"})
_ASSET_NAME = re.compile(r"^(code|deps|functions)-.+\.(zip|json|yaml)$")


@dataclass(frozen=True)
class AssetConfig:
    """The data files an app declares for its code asset (``[tool.flowfn]`` of its pyproject.toml).

    ``include`` and ``force_include`` are glob patterns relative to the app's folder; a pattern
    naming a folder takes the files below it. ``force_include`` also ships files that look like
    secrets. ``source`` names where they were declared, for error messages.
    """

    include: tuple[str, ...] = ()
    force_include: tuple[str, ...] = ()
    source: str = "pyproject.toml"


@dataclass(frozen=True)
class Selection:
    """The files chosen from a folder; those among them shipped only because they were forced; and
    the files inside the app's packages left out because nothing declares them."""

    files: tuple[str, ...]
    forced: tuple[str, ...]
    undeclared: tuple[str, ...] = ()


def _error(config: AssetConfig, key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{config.source} [tool.flowfn]", key, problem, fix)


def _patterns(config: AssetConfig, key: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(config, key, f"{value!r} is not a list of glob patterns",
                     f'write {key} = ["fonts/*.ttf", "templates"], paths relative to the app\'s folder')
    out = []
    for raw in value:
        pattern = raw.strip().removeprefix("./").rstrip("/")
        if not pattern or pattern.startswith("/") or ".." in pattern.split("/"):
            raise _error(config, key, f"{raw!r} leaves the app's folder" if pattern else "an empty pattern",
                         "give a path or glob relative to the folder that holds the app, such as "
                         "'data/*.csv'")
        out.append(pattern)
    return tuple(out)


def parse_config(table: Mapping[str, object], source: str) -> AssetConfig:
    """The :class:`AssetConfig` of a ``[tool.flowfn]`` table (other keys in it are left alone)."""
    bare = AssetConfig(source=source)
    return AssetConfig(
        include=_patterns(bare, "include", table.get("include")),
        force_include=_patterns(bare, "force_include", table.get("force_include")),
        source=source,
    )


def _segment(name: str, pattern: str) -> bool:
    if name.startswith(".") and not pattern.startswith("."):
        return False  # as in a shell: wildcards do not match hidden names
    return fnmatch.fnmatchcase(name, pattern)


def _match(pattern: list[str], parts: list[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        for i in range(len(parts) + 1):
            if _match(rest, parts[i:]):
                return True
            if i < len(parts) and parts[i].startswith("."):
                return False
        return False
    return bool(parts) and _segment(parts[0], head) and _match(rest, parts[1:])


def matches(pattern: str, path: str) -> bool:
    """True when glob ``pattern`` names ``path``, or a folder that holds it (``**`` spans folders)."""
    return _match([*pattern.split("/"), "**"], path.split("/"))


def secret_reason(path: str) -> str | None:
    """Why ``path`` looks like something that must not ship, or None."""
    *folders, name = path.split("/")
    if name.startswith("."):
        return "a hidden file"
    lower = name.lower()
    for pattern, what in SECRET_PATTERNS:
        if fnmatch.fnmatchcase(lower, pattern):
            return f"which matches the secret pattern {pattern!r} ({what})"
    for folder in folders:
        if folder.lower() in _SECRET_FOLDERS:
            return f"inside a folder named {folder!r}"
    return None


def _in_packages(folders: list[str], files: frozenset[str]) -> bool:
    for depth, folder in enumerate(folders, start=1):
        package = "/".join(folders[:depth])
        if not folder.isidentifier() or folder in _NOT_PACKAGES or f"{package}/__init__.py" not in files:
            return False
    return True


def is_module(path: str, files: frozenset[str]) -> bool:
    """True for a module of the app: a ``.py`` file at the root or inside its packages, not a test."""
    *folders, name = path.split("/")
    if not name.endswith(".py") or not name[:-3].isidentifier():
        return False
    return not is_test_module(name[:-3]) and _in_packages(folders, files)


def _package_data(path: str, files: frozenset[str]) -> bool:
    """True for a file other than a module below one of the app's packages (typing markers and
    tests aside): data the package's code may mean to read."""
    *folders, name = path.split("/")
    if not folders or name == "py.typed" or name.endswith(".pyi") or _NOT_PACKAGES & set(folders):
        return False
    return _in_packages(folders[:1], files)


def _some(items: list[str], limit: int = 5) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def select(files: Iterable[str], config: AssetConfig) -> Selection:
    """The files of the code asset among ``files`` (paths relative to the app's folder).

    Raises ConfigError for declared files that look like secrets and are not forced, and for
    patterns that match nothing.
    """
    listed = frozenset(files)
    chosen: list[str] = []
    forced: list[str] = []
    undeclared: list[str] = []
    refused: list[tuple[str, str, str | None]] = []  # (pattern, path, why it looks like a secret)
    used: set[str] = set()
    for path in sorted(listed):
        by_force = [p for p in config.force_include if matches(p, path)]
        by_include = [p for p in config.include if matches(p, path)]
        used.update(by_force, by_include)
        reason = secret_reason(path)
        if is_module(path, listed) or (by_include and reason is None):
            chosen.append(path)
        elif by_force:
            chosen.append(path)
            if reason is not None:
                forced.append(path)
        elif by_include:
            refused.append((by_include[0], path, reason))
        elif reason is None and _package_data(path, listed):
            undeclared.append(path)
    if refused:
        pattern, path, reason = refused[0]
        one = len(refused) == 1
        others = "" if one else f" (and {_some([r[1] for r in refused[1:]])})"
        names = ", ".join(f'"{r[1]}"' for r in refused)
        raise _error(
            config, "include", f"{pattern!r} matches {path}, {reason}{others}",
            "keep secrets out of the code (read them at run time, for example from AWS Secrets "
            f"Manager or SSM Parameter Store), or, if {'it' if one else 'they'} must ship, name "
            f"{'it' if one else 'them'} under [tool.flowfn] as force_include = [{names}]",
        )
    for key, patterns in (("include", config.include), ("force_include", config.force_include)):
        unmatched = [repr(p) for p in patterns if p not in used]
        if unmatched:
            raise _error(
                config, key, f"{_some(unmatched)} {'matches' if len(unmatched) == 1 else 'match'} no file",
                "check the pattern against the app's folder; hidden folders, caches, virtualenvs, "
                "synth output and files reached through a symlink leading out of the folder "
                "never ship",
            )
    return Selection(tuple(chosen), tuple(forced), tuple(undeclared))


def is_asset_name(name: str) -> bool:
    """True for file names synth gives assets (stale ones may be removed from an output folder)."""
    return bool(_ASSET_NAME.match(name))
