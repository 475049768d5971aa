"""``workdir.remove_tree``: a job dir goes whatever the job left; its parent is never touched."""

from __future__ import annotations

import stat
from pathlib import Path

from autograder.workdir import remove_tree


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_tree_with_read_only_folders_is_removed(tmp_path: Path) -> None:
    root = tmp_path / "job"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.txt").write_text("x")
    (root / "a" / "b").chmod(0o500)
    (root / "a").chmod(0o500)
    remove_tree(root)
    assert not root.exists()


def test_the_parent_keeps_its_mode_whatever_happens_to_the_root(tmp_path: Path) -> None:
    parent = tmp_path / "shared"
    parent.mkdir()
    parent.chmod(0o1777)
    remove_tree(parent / "gone-already")  # a dir a killed run's cleanup removed first
    target = tmp_path / "elsewhere"
    target.mkdir()
    before = _mode(target)
    (parent / "link").symlink_to(target)
    remove_tree(parent / "link")  # rmtree refuses a link: reported, left
    assert _mode(parent) == 0o1777
    assert target.is_dir() and _mode(target) == before
