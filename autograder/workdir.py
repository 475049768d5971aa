"""The directories of one job: the sandbox's work dir and the grader's private copies.

Layout of a job directory (a fresh temporary directory, removed when the job ends)::

    <job>/                mode 0711: the job's uid may pass through, not list
      trusted/inputs/     mode 0700: the inputs as the grader wrote them; verdicts
                          are decided against these, never against the work dir's
      work/               the sandbox's cwd and HOME (see docs/AUTOGRADER.md)
        notebook.ipynb    the restored notebook
        inputs/           a copy of trusted/inputs/ for the check API to read
        outputs/          empty; the check API records here
        <extra files>     whitelisted data, copied (never linked)

The job's code can rewrite anything in ``work/`` (the sandbox hands it to the job's
uid), including ``inputs/``; keeping the grader's own copy elsewhere means a rewritten
input can never change what the outputs are compared with.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from autograder.files import open_up
from autograder.runner.contract import (
    INPUTS_DIRNAME,
    NOTEBOOK_NAME,
    OUTPUTS_DIRNAME,
    RESERVED_NAMES,
    RESULTS_NAME,
)

InputWriter = Callable[[Any, Path], None]
"""Writes one spec's input files into a directory (``specs.write_inputs`` bound to a
term seed and student)."""


NBGRADER_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.ipynb")
"""Names nbgrader's autograde never copies from the source folder (``CourseDirectory.
ignore`` and the notebooks), matched against each file or folder name."""


def ignored_name(name: str) -> bool:
    """Whether nbgrader leaves a file or folder of this name out of the work dir."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in NBGRADER_IGNORE)


class WorkdirError(ValueError):
    """The job's configuration cannot be laid out (a bad extra file): the grader's fault."""


@dataclass(frozen=True)
class JobDirs:
    """Where one job's files live."""

    root: Path
    workdir: Path
    """What the sandbox sees."""
    trusted_inputs: Path
    """The grader's private inputs: what verdicts are decided on."""

    @property
    def outputs(self) -> Path:
        return self.workdir / OUTPUTS_DIRNAME

    @property
    def results(self) -> Path:
        return self.workdir / RESULTS_NAME


def remove_tree(root: Path) -> None:
    """Delete a job directory whatever the job left in it (read-only dirs included); what
    cannot go is logged and left (a leaked temp dir is better than a lost result). Only
    ``root`` and what is inside it ever have their modes changed, never its parent."""
    if not root.exists() and not root.is_symlink():
        return
    inside = os.path.realpath(root)

    def make_writable_and_retry(function: Callable[..., Any], path: str, _info: Any) -> None:
        parent = os.path.realpath(os.path.dirname(path))
        try:
            if os.path.commonpath([parent, inside]) == inside:
                os.chmod(parent, 0o700)
            os.chmod(path, 0o700, follow_symlinks=False)
        except (OSError, ValueError, NotImplementedError):  # no lchmod for a link
            pass
        try:
            function(path)
        except OSError:
            pass

    shutil.rmtree(root, onerror=make_writable_and_retry)
    if root.exists() or root.is_symlink():
        logging.getLogger(__name__).warning("could not remove %s", root)


@contextmanager
def job_directory(parent: Path | None = None) -> Iterator[JobDirs]:
    """A fresh job directory (see the module docstring), always removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="grading-job-", dir=parent))
    try:
        # Without bubblewrap the job sees host paths: its uid must be able to pass
        # through the job dir to reach work/, but not list it or enter trusted/.
        root.chmod(0o711)
        trusted = root / "trusted" / INPUTS_DIRNAME
        trusted.mkdir(parents=True)
        (root / "trusted").chmod(0o700)
        workdir = root / "work"
        workdir.mkdir()
        yield JobDirs(root=root, workdir=workdir, trusted_inputs=trusted)
    finally:
        remove_tree(root)


def copy_extra_file(source: Path, workdir: Path) -> Path:
    """Copy one whitelisted file or directory into the work dir under its own name.

    Symlinks are refused anywhere in what is copied: a link would let the job read
    (or, writable, change) whatever it points at.
    """
    source = Path(source)
    name = source.name
    if name in RESERVED_NAMES or not name or name.startswith("."):
        raise WorkdirError(f"extra file {source} cannot be named {name!r} in the work dir")
    target = workdir / name
    if target.exists() or target.is_symlink():
        raise WorkdirError(f"two extra files are named {name!r}")
    try:
        info = source.lstat()
    except OSError as error:
        raise WorkdirError(f"extra file {source} cannot be read: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise WorkdirError(f"extra file {source} is a symlink; copy the real file instead")
    if stat.S_ISDIR(info.st_mode):
        for directory, subdirs, files in os.walk(source):
            for entry in (*subdirs, *files):
                if os.path.islink(os.path.join(directory, entry)):
                    raise WorkdirError(f"extra directory {source} holds a symlink: {entry}")
        shutil.copytree(
            source,
            target,
            symlinks=True,
            copy_function=shutil.copyfile,
            ignore=lambda _folder, names: [name for name in names if ignored_name(name)],
        )
    elif stat.S_ISREG(info.st_mode):
        shutil.copyfile(source, target, follow_symlinks=False)
    else:
        raise WorkdirError(f"extra file {source} is not a regular file or directory")
    return target


def prepare_workdir(
    dirs: JobDirs,
    notebook: nbformat.NotebookNode,
    specs: Iterable[Any],
    write_inputs: InputWriter,
    extra_files: Sequence[Path] = (),
) -> None:
    """Fill a fresh job directory: trusted inputs, then the work dir the sandbox sees.

    Args:
        dirs: from :func:`job_directory`.
        notebook: the restored notebook (intake's output).
        specs: the check specs to write inputs for (those of the template's tests).
        write_inputs: writes one spec's inputs into a directory.
        extra_files: whitelisted files or directories, copied by name.

    Raises:
        WorkdirError: an extra file is missing, a symlink, or clashes with a name.
    """
    for spec in specs:
        write_inputs(spec, dirs.trusted_inputs)
    shutil.copytree(dirs.trusted_inputs, dirs.workdir / INPUTS_DIRNAME)
    (dirs.workdir / OUTPUTS_DIRNAME).mkdir()
    nbformat.write(notebook, str(dirs.workdir / NOTEBOOK_NAME))
    for source in extra_files:
        copy_extra_file(source, dirs.workdir)
    open_up(dirs.workdir)  # the job's uid owns it after the hand-over
