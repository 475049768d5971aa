"""The student build: the Python packages a sandboxed notebook may import from us.

:func:`build_runtime` lays out one directory that goes first on the sandbox's
``sys.path``:

- ``dlcourse/``: a copy of the course library in which every module is a stub except
  those on the allow-list (:data:`DEFAULT_ALLOW`): the check API, the data loaders, the
  gradient checker and the widget framework. A new module, such as the references of
  a new exercise in :mod:`dlcourse.exercises`, is hidden without anyone remembering to
  list it; a submission that imports it gets an ``ImportError`` naming the reason, not
  the answer. The release proves it (:mod:`autograder.instructor.hidden`).
- ``autograder/__init__.py`` and ``autograder/runner/``: the runner that executes the
  notebook inside the sandbox. Nothing else of the grader (specs, references, the
  gradebook) is there.

Builds are content-addressed (``<dest>/runtime-<hash>``), written to a temporary
directory and renamed into place, so calling this once per grading run is cheap and
safe even when several workers call it at the same time; an unchanged tree is reused.
"""

from __future__ import annotations

import ast
import compileall
import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

import autograder
import dlcourse
from autograder.files import open_up

DEFAULT_ALLOW: tuple[str, ...] = (
    "dlcourse",
    "dlcourse.checks.*",
    "dlcourse.data",
    "dlcourse.data.datasets.*",
    "dlcourse.gradcheck",
    "dlcourse.widgets",
    "dlcourse.widgets.base",
)
"""What a submission may import from ``dlcourse``: a module by name, or a package and
everything in it with ``.*``. The package ``dlcourse`` and the folders ``data`` and
``widgets`` are allowed as their ``__init__`` alone; the explorers of
``dlcourse.widgets`` stay hidden because each one falls back on an exercise's reference.
Everything else is a stub."""

REQUIRED: tuple[str, ...] = ("dlcourse", "dlcourse.checks")
"""Modules the runner needs; the allow-list must keep them."""

STUB_MESSAGE = (
    "this part of the course library is not available while grading: it holds or uses the "
    "references of what you implement in the assignments"
)

RUNTIME_PREFIX = "runtime-"

_BUILD_FORMAT = b"studentlib-2"  # bump when the layout changes without the sources changing

_STUB_TEMPLATE = '''\
"""{module}: replaced while grading.

The grading runtime holds stubs in place of the course's reference implementations,
so a submission is always graded on its own code.
"""

_MODULE = {module!r}
_MESSAGE = {message!r}


class ReferenceNotAvailableError(ImportError):
    """A submission reached for a reference implementation while being graded."""


def __getattr__(attribute):
    # Dunder probes (by the import system, pickle, inspect, IPython) must stay plain
    # AttributeErrors, or ordinary machinery breaks. __all__ is the exception:
    # ``from {module} import *`` should fail loudly, not import nothing.
    if attribute.startswith("__") and attribute.endswith("__") and attribute != "__all__":
        raise AttributeError(f"module {{_MODULE!r}} has no attribute {{attribute!r}}")
    raise ReferenceNotAvailableError(f"{{_MODULE}}.{{attribute}}: {{_MESSAGE}}", name=_MODULE)
'''


def module_name(package: str, relative: PurePosixPath) -> str:
    """Dotted name of the module stored at ``relative`` inside ``package``'s directory.

    ``functional/activations.py`` -> ``dlcourse.functional.activations``; a package's
    ``__init__.py`` names the package; any other file belongs to its directory's package.
    """
    parts = [package, *relative.parts]
    last = parts.pop()
    if last.endswith(".py") and last != "__init__.py":
        parts.append(last[: -len(".py")])
    return ".".join(parts)


def is_allowed(module: str, allow: Sequence[str]) -> bool:
    """Whether ``module`` is on the allow-list (by name, or inside a ``package.*`` entry)."""
    for entry in allow:
        if entry.endswith(".*"):
            package = entry[: -len(".*")]
            if module == package or module.startswith(package + "."):
                return True
        elif module == entry:
            return True
    return False


def _package_files(root: Path) -> Iterator[PurePosixPath]:
    """Every regular file under a package directory, bytecode caches left out."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(directory, name)
            if name.endswith((".pyc", ".pyo")) or path.is_symlink() or not path.is_file():
                continue
            yield PurePosixPath(path.relative_to(root).as_posix())


def _dlcourse_imports(source: bytes, module: str, is_package: bool) -> set[str]:
    """The ``dlcourse`` modules a source file imports (absolute and relative imports)."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # ``from package import name`` may name a submodule: count both.
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "dlcourse" or name.startswith("dlcourse.")}


def module_dependencies(module: str) -> set[str]:
    """The ``dlcourse`` modules that ``module`` (a module of the installed library) imports."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ValueError(f"{module!r} is not a module of the installed library")
    source = Path(spec.origin).read_bytes()
    found = set()
    for name in _dlcourse_imports(source, module, spec.submodule_search_locations is not None):
        try:
            if importlib.util.find_spec(name) is not None:
                found.add(name)
        except ModuleNotFoundError:  # ``from module import function``: not a module
            continue
    return found


def _check_allow(allow: Sequence[str], sources: Mapping[str, tuple[bytes, bool]]) -> None:
    """Refuse entries that match nothing (a typo), an allow-list without what the runner
    needs, and an allowed module that imports a hidden one (it would fail to import)."""
    known = set(sources)
    for entry in allow:
        name = entry.removesuffix(".*")
        if name != "dlcourse" and not name.startswith("dlcourse."):
            raise ValueError(f"allowed module {entry!r} is not inside the dlcourse package")
        if name not in known:
            raise ValueError(f"allowed module {entry!r} does not exist in dlcourse")
    for needed in REQUIRED:
        if not is_allowed(needed, allow):
            raise ValueError(f"the allow-list must keep {needed!r}: the runner needs it")
    for module, (source, is_package) in sources.items():
        if not is_allowed(module, allow):
            continue
        for imported in sorted(_dlcourse_imports(source, module, is_package)):
            if imported in known and not is_allowed(imported, allow):
                raise ValueError(
                    f"allowed module {module!r} imports {imported!r}, which is hidden while "
                    "grading: allow it too, or stop importing it"
                )


def runtime_files(allow: Sequence[str] = DEFAULT_ALLOW) -> dict[str, bytes]:
    """The student build's contents: relative path -> bytes, stubs already in place."""
    dlcourse_root = Path(dlcourse.__path__[0])
    autograder_root = Path(autograder.__path__[0])
    library = list(_package_files(dlcourse_root))
    sources = {
        module_name("dlcourse", relative): (
            (dlcourse_root / relative).read_bytes(),
            relative.name == "__init__.py",
        )
        for relative in library
        if relative.suffix == ".py"
    }
    _check_allow(allow, sources)
    contents: dict[str, bytes] = {}
    for relative in library:
        name = module_name("dlcourse", relative)
        target = f"dlcourse/{relative}"
        if is_allowed(name, allow):
            contents[target] = (dlcourse_root / relative).read_bytes()
        elif relative.suffix == ".py":
            contents[target] = _STUB_TEMPLATE.format(module=name, message=STUB_MESSAGE).encode()
        # data files of a hidden package are left out with it
    contents["autograder/__init__.py"] = (autograder_root / "__init__.py").read_bytes()
    runner_root = autograder_root / "runner"
    for relative in _package_files(runner_root):
        contents[f"autograder/runner/{relative}"] = (runner_root / relative).read_bytes()
    return contents


def content_hash(contents: Mapping[str, bytes]) -> str:
    """A digest of the build's layout and bytes (paths and contents, in a fixed order)."""
    digest = hashlib.sha256(_BUILD_FORMAT)
    for path in sorted(contents):
        data = contents[path]
        digest.update(f"\0{path}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:20]


def _write_tree(root: Path, contents: Mapping[str, bytes]) -> None:
    """Write the files world-readable: the job runs as an unprivileged uid."""
    for relative, data in contents.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    # Bytecode now, while the tree is writable: inside the sandbox it is read-only,
    # so without this every job would compile the whole library again.
    compileall.compile_dir(root, quiet=1)
    open_up(root)


def _check_owned(path: Path) -> None:
    """Refuse to reuse a build that someone else could have planted or edited.

    A build is found by name, so in a shared directory (``/tmp``) another user could
    pre-create one (or ``dest`` itself); each must be ours and writable by no one else.
    """
    info = path.lstat()
    if path.is_symlink() or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise ValueError(
            f"refusing to use {path}: it must be a directory owned by uid "
            f"{os.geteuid()} and writable by no one else"
        )


def build_runtime(dest: Path, allow: Sequence[str] = DEFAULT_ALLOW) -> Path:
    """Build (or reuse) the student runtime under ``dest``; returns its directory.

    The returned directory is what goes first on the sandbox's ``sys.path``.

    Raises:
        ValueError: an allowed name matches no module of ``dlcourse`` or lies outside
            it, the allow-list leaves out a module the runner needs or lets in a module
            that imports a hidden one; or an existing build (or ``dest``) belongs to
            another user or is writable by others.
    """
    dest = Path(dest).absolute()
    contents = runtime_files(tuple(allow))
    final = dest / f"{RUNTIME_PREFIX}{content_hash(contents)}"
    if final.is_dir():
        _check_owned(dest)
        _check_owned(final)
        return final
    dest.mkdir(mode=0o755, parents=True, exist_ok=True)
    _check_owned(dest)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=dest))
    try:
        _write_tree(staging, contents)
        try:
            os.rename(staging, final)
        except OSError:
            # Another worker renamed its identical build into place first: use that.
            if not final.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final
