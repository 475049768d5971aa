"""A job's fingerprint covers everything its verdicts depend on, and nothing else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import autograder.job as job_module
from autograder.job import GradingJob, reference_digest
from autograder.sandbox import Limits


@pytest.fixture
def reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in reference library the fingerprint hashes instead of ``dlcourse``."""
    library = tmp_path / "reflib"
    (library / "layers").mkdir(parents=True)
    (library / "__init__.py").write_text("")
    (library / "layers" / "relu.py").write_text("def relu(x):\n    return x * (x > 0)\n")
    monkeypatch.setattr(job_module, "reference_dirs", lambda: [library])
    return library


@pytest.fixture
def job(tmp_path: Path, reference: Path) -> GradingJob:
    files = {name: tmp_path / name for name in ("sub.ipynb", "tpl.ipynb", "nb.specs.py")}
    for name, path in files.items():
        path.write_text(f"contents of {name}")
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("x,y\n1,2\n")
    return GradingJob(
        assignment="a1",
        notebook="nb",
        student_id="s1",
        submission_path=files["sub.ipynb"],
        template_path=files["tpl.ipynb"],
        specs_path=files["nb.specs.py"],
        term_seed=7,
        extra_files=(data,),
    )


def test_the_fingerprint_repeats_for_unchanged_inputs(job: GradingJob) -> None:
    assert job.fingerprint() == job.fingerprint()
    assert job.fingerprint() == dataclasses.replace(job).fingerprint()


def test_a_changed_reference_changes_the_fingerprint_and_a_restored_one_restores_it(
    job: GradingJob, reference: Path
) -> None:
    before = job.fingerprint()
    relu = reference / "layers" / "relu.py"
    original = relu.read_text()
    relu.write_text("def relu(x):\n    return abs(x)  # a changed reference\n")
    changed = job.fingerprint()
    relu.write_text(original)

    assert changed != before
    assert job.fingerprint() == before


def test_a_new_reference_module_changes_the_fingerprint(job: GradingJob, reference: Path) -> None:
    before = job.fingerprint()
    (reference / "layers" / "conv.py").write_text("def conv(x):\n    return x\n")
    assert job.fingerprint() != before


def test_data_files_limits_and_the_gpu_need_change_the_fingerprint(job: GradingJob) -> None:
    before = job.fingerprint()
    data = job.extra_files[0]

    (data / "train.csv").write_text("x,y\n1,3\n")
    edited = job.fingerprint()
    (data / "new.csv").write_text("z\n")
    added = job.fingerprint()
    slower = dataclasses.replace(job, limits=Limits(wall_seconds=10.0)).fingerprint()
    gpu = dataclasses.replace(job, needs_gpu=True).fingerprint()

    assert len({before, edited, added, slower, gpu}) == 5


@pytest.mark.parametrize("field", ["submission_path", "template_path", "specs_path"])
def test_each_notebook_file_changes_the_fingerprint(job: GradingJob, field: str) -> None:
    before = job.fingerprint()
    getattr(job, field).write_text("edited")
    assert job.fingerprint() != before


def test_the_real_reference_digest_covers_dlcourse_and_the_specs_package() -> None:
    roots = {path.name for path in job_module.reference_dirs()}
    assert roots == {"dlcourse", "specs"}
    assert reference_digest() == reference_digest()


def test_a_multi_gigabyte_sparse_submission_is_fingerprinted_without_reading_it(job: GradingJob):
    import resource

    with open(job.submission_path, "r+b") as handle:
        handle.truncate(3 * 2**30)  # 3 GiB on paper, nothing on disk
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    first = job.fingerprint()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert grown < 100 * 2**20
    with open(job.submission_path, "r+b") as handle:
        handle.truncate(3 * 2**30 + 1)
    assert job.fingerprint() != first  # its size still counts
