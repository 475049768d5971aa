"""The student build: the Python packages a sandboxed notebook may import from us.

:func:`build_runtime` lays out one directory that goes first on the sandbox's
``sys.path``:

- ``dlcourse/``: a copy of the course library in which every module of a graded
  exercise (:data:`DEFAULT_EXCLUDE`) is a stub. A submission that imports the reference
  it is graded against gets an ``ImportError`` naming the reason, not the answer.
- ``autograder/__init__.py`` and ``autograder/runner/``: the runner that executes the
  notebook inside the sandbox. Nothing else of the grader (specs, references, the
  gradebook) is there.

Builds are content-addressed (``<dest>/runtime-<hash>``), written to a temporary
directory and renamed into place, so calling this once per grading run is cheap and
safe even when several workers call it at the same time; an unchanged tree is reused.
"""

from __future__ import annotations

import compileall
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

import autograder
import dlcourse

DEFAULT_EXCLUDE: tuple[str, ...] = (
    "dlcourse.functional",
    "dlcourse.nn.layers",
    "dlcourse.init",
    "dlcourse.init_experiment",
    "dlcourse.optim",
    "dlcourse.train",
    "dlcourse.data.preprocess",
    "dlcourse.data.augment",
    "dlcourse.convarith",
    "dlcourse.demo",
)
"""The reference implementations: what students write in the assignments."""

REQUIRED: tuple[str, ...] = ("dlcourse", "dlcourse.checks")
"""Modules the runner needs; excluding them (or a parent) would break every job."""

STUB_MESSAGE = (
    "this reference is not available while grading: it is what you implement in the assignment"
)

RUNTIME_PREFIX = "runtime-"

_BUILD_FORMAT = b"studentlib-1"  # bump when the layout changes without the sources changing

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


def stub_source(module: str) -> str:
    """Source of the stub module that replaces ``module`` in the student build."""
    return _STUB_TEMPLATE.format(module=module, message=STUB_MESSAGE)


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


def is_excluded(module: str, exclude: Sequence[str]) -> bool:
    """Whether ``module`` is, or lies inside, one of the excluded modules."""
    return any(module == name or module.startswith(name + ".") for name in exclude)


def _package_files(root: Path) -> Iterator[PurePosixPath]:
    """Every regular file under a package directory, bytecode caches left out."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(directory, name)
            if name.endswith((".pyc", ".pyo")) or path.is_symlink() or not path.is_file():
                continue
            yield PurePosixPath(path.relative_to(root).as_posix())


def _check_exclude(exclude: Sequence[str], known: set[str]) -> None:
    """Refuse names that match nothing (a typo would leave a reference in) or that the
    runner needs."""
    for name in exclude:
        if not name.startswith("dlcourse."):
            raise ValueError(f"excluded module {name!r} is not inside the dlcourse package")
        if name not in known:
            raise ValueError(f"excluded module {name!r} does not exist in dlcourse")
        for needed in REQUIRED:
            if needed == name or needed.startswith(name + "."):
                raise ValueError(f"cannot exclude {name!r}: the runner needs {needed!r}")


def runtime_files(exclude: Sequence[str] = DEFAULT_EXCLUDE) -> dict[str, bytes]:
    """The student build's contents: relative path -> bytes, stubs already in place."""
    dlcourse_root = Path(dlcourse.__path__[0])
    autograder_root = Path(autograder.__path__[0])
    library = list(_package_files(dlcourse_root))
    known = {module_name("dlcourse", relative) for relative in library}
    _check_exclude(exclude, known)
    contents: dict[str, bytes] = {}
    for relative in library:
        name = module_name("dlcourse", relative)
        target = f"dlcourse/{relative}"
        if not is_excluded(name, exclude):
            contents[target] = (dlcourse_root / relative).read_bytes()
        elif relative.suffix == ".py":
            contents[target] = stub_source(name).encode()
        # data files of an excluded package are left out with it
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
    for directory, _subdirs, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)


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


def build_runtime(dest: Path, exclude: Sequence[str] = DEFAULT_EXCLUDE) -> Path:
    """Build (or reuse) the student runtime under ``dest``; returns its directory.

    The returned directory is what goes first on the sandbox's ``sys.path``.

    Raises:
        ValueError: an excluded name matches no module of ``dlcourse``, lies outside
            it, or would remove a module the runner needs; or an existing build (or
            ``dest``) belongs to another user or is writable by others.
    """
    dest = Path(dest).absolute()
    contents = runtime_files(tuple(exclude))
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
