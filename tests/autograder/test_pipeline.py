"""``grade_submission`` end to end on the fixture course, in a real sandbox.

Submissions are made from the fixture's nbgrader source notebook with nbformat: the
solution is the source itself; a blank replaces every solution region with
``raise NotImplementedError()`` (what nbgrader's release hands out); other submissions
edit single answer cells. Every graded run goes through a real :class:`ColdBox`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import nbformat
import pytest

from autograder.box.cold import ColdBox
from autograder.intake import CellRole, load_template
from autograder.job import GradingJob, JobResult, JobStatus, VerdictStatus
from autograder.pipeline import (
    NO_SPEC_MESSAGE,
    cuda_visible,
    grade_submission,
    grade_submission_dict,
)
from autograder.sandbox import Limits
from autograder.specs import load_specs, write_inputs
from autograder.studentlib import build_runtime
from autograder.workdir import job_directory, prepare_workdir

pytestmark = pytest.mark.slow

MINI = Path(__file__).parent / "fixtures" / "mini"
SOURCE = MINI / "mini.ipynb"
SPECS = MINI / "mini.specs.py"
TERM_SEED = 2024
SOLUTION_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION", re.M | re.S)

TEMPLATE = load_template(SOURCE)
TEST_POINTS = {cell.grade_id: cell.points for cell in TEMPLATE.cells if cell.role is CellRole.TESTS}
AUTOGRADED_MAX = sum(TEST_POINTS.values())


# --- submissions ---------------------------------------------------------------------


def blank_source(source: str) -> str:
    """An answer as the release shows it: the solution region replaced by a stub."""
    return SOLUTION_REGION.sub(r"\1raise NotImplementedError()", source)


def write_submission(
    directory: Path, *, blank: bool = False, answers: Mapping[str, str] | None = None
) -> Path:
    """The source notebook with (optionally) blank answers and some answers replaced."""
    notebook = nbformat.read(SOURCE, as_version=4)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution") or cell.cell_type != "code":
            continue
        if blank:
            cell.source = blank_source(cell.source)
        if answers and meta["grade_id"] in answers:
            cell.source = answers[meta["grade_id"]]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mini.ipynb"
    nbformat.write(notebook, str(path))
    return path


def make_job(
    submission: Path | None, student: str = "alice", specs: Path = SPECS, **options
) -> GradingJob:
    return GradingJob(
        assignment="a1",
        notebook="mini",
        student_id=student,
        submission_path=submission,
        template_path=SOURCE,
        specs_path=specs,
        term_seed=TERM_SEED,
        **options,
    )


def verdicts(result: JobResult) -> dict[str, tuple[VerdictStatus, float]]:
    return {v.test_id: (v.status, v.points) for v in result.verdicts}


@pytest.fixture(scope="module")
def box() -> Iterator[ColdBox]:
    """A cold box over a student runtime that every job uid can read."""
    parent = Path(tempfile.mkdtemp(prefix="runtime-test-"))
    parent.chmod(0o755)
    try:
        with ColdBox(build_runtime(parent / "builds")) as cold:
            yield cold
    finally:
        shutil.rmtree(parent)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("submissions")


@pytest.fixture(scope="module")
def solution(submissions: Path) -> Path:
    return write_submission(submissions / "solution")


@pytest.fixture(scope="module")
def solution_result(box: ColdBox, solution: Path) -> JobResult:
    return grade_submission(make_job(solution), box)


# --- scores --------------------------------------------------------------------------


def test_the_solution_earns_every_autograded_point(solution_result: JobResult) -> None:
    assert solution_result.status is JobStatus.GRADED, solution_result.error
    assert solution_result.score == AUTOGRADED_MAX == 17
    assert solution_result.max_score == TEMPLATE.max_score == 19
    assert all(v.status is VerdictStatus.PASSED for v in solution_result.verdicts)
    assert [v.test_id for v in solution_result.verdicts] == list(TEST_POINTS)
    assert solution_result.manual_cells == ["dead_relu_answer"]
    assert solution_result.execution["runner_started"] is True


def test_blank_release_answers_score_zero(box: ColdBox, submissions: Path) -> None:
    result = grade_submission(make_job(write_submission(submissions / "blank", blank=True)), box)
    assert result.status is JobStatus.GRADED, result.error
    assert result.score == 0
    assert all(v.status is not VerdictStatus.PASSED for v in result.verdicts)
    assert all(v.passed_cases == 0 and v.total_cases == 5 for v in result.verdicts)
    assert all("NotImplementedError" in v.message for v in result.verdicts)


def test_one_wrong_function_loses_exactly_its_points(box: ColdBox, submissions: Path) -> None:
    wrong = {
        "softmax_loss": "def softmax_cross_entropy_loss(scores, y):\n"
        "    return 0.5, np.zeros_like(scores)"
    }
    result = grade_submission(make_job(write_submission(submissions / "w", answers=wrong)), box)
    assert result.status is JobStatus.GRADED, result.error
    assert result.score == AUTOGRADED_MAX - TEST_POINTS["softmax_loss_test"]
    lost = {
        test_id
        for test_id, (status, _) in verdicts(result).items()
        if status is not VerdictStatus.PASSED
    }
    assert lost == {"softmax_loss_test"}


def test_grading_the_same_submission_twice_gives_the_same_result(
    box: ColdBox, solution: Path, solution_result: JobResult
) -> None:
    again = grade_submission(make_job(solution), box)
    assert again.score == solution_result.score
    assert verdicts(again) == verdicts(solution_result)
    assert again.fingerprint == solution_result.fingerprint


def test_two_students_get_different_inputs_and_each_the_same_on_regrade(
    submissions: Path,
) -> None:
    registry = load_specs(SPECS)
    notebook = nbformat.read(SOURCE, as_version=4)

    def inputs_of(student: str) -> dict[str, bytes]:
        with job_directory() as dirs:
            prepare_workdir(
                dirs,
                notebook,
                list(registry),
                lambda spec, folder: write_inputs(spec, folder, TERM_SEED, student),
            )
            shipped = {p.name: p.read_bytes() for p in (dirs.workdir / "inputs").iterdir()}
            trusted = {p.name: p.read_bytes() for p in dirs.trusted_inputs.iterdir()}
        assert shipped == trusted
        return trusted

    alice, bob = inputs_of("alice"), inputs_of("bob")
    assert alice.keys() == bob.keys() and len(alice) == 2 * len(registry)
    assert all(alice[name] != bob[name] for name in alice)
    assert inputs_of("alice") == alice


def test_a_missing_submission_scores_zero_with_an_intake_note(box: ColdBox) -> None:
    result = grade_submission(make_job(None), box)
    assert result.status is JobStatus.GRADED, result.error
    assert result.score == 0 and result.max_score == 19
    assert result.intake["status"] == "missing"
    assert [note["kind"] for note in result.intake["notes"]] == ["missing_file"]
    assert len(result.intake["blank_ids"]) == 11


# --- tampering -----------------------------------------------------------------------

PATCH_COMPARISONS = """\
def relu_forward(x):
    return x, x  # wrong: identity

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
"""

NO_OP_CHECKS = """\
import dlcourse.checks
import dlcourse.checks.record

def _skip(*args, **kwargs):
    return None

check = check_hidden = _skip
dlcourse.checks.check = dlcourse.checks.check_hidden = _skip
dlcourse.checks.record.record = _skip

def relu_forward(x):
    return x, x
"""

# Runs after every other test cell: rewrites the work dir's inputs to zeros and forges
# outputs that are right for zero inputs (relu(0) = 0), plus junk and a symlink.
FORGE_OUTPUTS = """\
import glob, os
from dlcourse.checks.casefile import CaseData, read_case_file, write_case_file

for path in glob.glob("inputs/*.npz"):
    cases = read_case_file(path)
    zeros = [CaseData(inputs={k: np.zeros_like(v) for k, v in c.inputs.items()})
             for c in cases.cases]
    write_case_file(path, cases.meta, zeros)
    if os.path.basename(path).startswith("relu_forward_test"):
        forged = [CaseData(outputs={"out": np.zeros_like(c.inputs["x"])}) for c in zeros]
        write_case_file("outputs/" + os.path.basename(path), cases.meta, forged)
open("outputs/sigmoid_forward_test.visible.npz", "wb").write(b"PK not a zip")
if os.path.exists("outputs/mse_loss_test.hidden.npz"):
    os.remove("outputs/mse_loss_test.hidden.npz")
os.symlink("/etc/passwd", "outputs/mse_loss_test.hidden.npz")

def torch_linear(x, w, b):
    raise NotImplementedError()
"""


@pytest.mark.parametrize(
    ("name", "cell", "attack", "relu_status"),
    [
        ("patch-numpy-comparisons", "relu_forward", PATCH_COMPARISONS, VerdictStatus.FAILED),
        ("check-redefined-as-no-op", "relu_forward", NO_OP_CHECKS, VerdictStatus.MISSING),
        ("forged-inputs-and-outputs", "torch_linear", FORGE_OUTPUTS, VerdictStatus.FAILED),
    ],
)
def test_tampering_from_inside_the_notebook_earns_nothing(
    box: ColdBox,
    submissions: Path,
    name: str,
    cell: str,
    attack: str,
    relu_status: VerdictStatus,
) -> None:
    path = write_submission(submissions / name, blank=True, answers={cell: attack})
    result = grade_submission(make_job(path), box)
    assert result.status is JobStatus.GRADED, result.error
    # The attack itself ran to its end inside the sandbox...
    attack_cell = next(c for c in result.execution["cells"] if c["grade_id"] == cell)
    assert attack_cell["status"] == "ok", attack_cell["error"]
    # ...and what it left was judged (not merely absent) and earned nothing.
    assert verdicts(result)["relu_forward_test"][0] is relu_status
    assert result.score == 0
    assert all(v.status is not VerdictStatus.PASSED for v in result.verdicts)


# --- grader-side conditions ----------------------------------------------------------


def test_a_test_without_a_spec_fails_and_the_rest_is_graded(
    box: ColdBox, solution: Path, tmp_path: Path
) -> None:
    specs = tmp_path / "partial.specs.py"
    specs.write_text(
        f"exec(open({str(SPECS)!r}).read())\n"
        "SPECS = [spec for spec in SPECS if spec.test_id != 'mse_loss_test']\n"
    )
    job = make_job(solution, specs=specs)
    result = grade_submission(job, box)
    assert result.status is JobStatus.GRADED, result.error
    assert result.score == AUTOGRADED_MAX - TEST_POINTS["mse_loss_test"]
    verdict = next(v for v in result.verdicts if v.test_id == "mse_loss_test")
    assert (verdict.status, verdict.points, verdict.message) == (
        VerdictStatus.FAILED,
        0.0,
        NO_SPEC_MESSAGE,
    )


def test_an_endless_notebook_ends_as_timeout_with_what_was_recorded(
    box: ColdBox, submissions: Path
) -> None:
    endless = {"torch_linear": "while True:\n    pass"}
    path = write_submission(submissions / "endless", answers=endless)
    result = grade_submission(make_job(path, limits=Limits(wall_seconds=20)), box)
    assert result.status is JobStatus.TIMEOUT, result.error
    assert result.execution["timed_out"] is True
    assert verdicts(result)["torch_linear_test"][0] is not VerdictStatus.PASSED
    assert result.score <= AUTOGRADED_MAX - TEST_POINTS["torch_linear_test"]


def test_a_gpu_notebook_waits_for_a_gpu_runner_without_running(box: ColdBox) -> None:
    if cuda_visible():
        pytest.skip("this grader has a GPU, so the notebook would run")
    result = grade_submission(make_job(SOURCE, needs_gpu=True), box)
    assert result.status is JobStatus.AWAITING_GPU
    assert result.score == 0 and result.execution == {}
    assert {v.status for v in result.verdicts} == {VerdictStatus.AWAITING_GPU}


@pytest.mark.gpu
def test_a_gpu_notebook_on_a_gpu_runner_is_graded_in_the_sandbox(
    box: ColdBox, solution: Path
) -> None:
    # The job gets Limits(gpu=True): the device nodes and no address-space cap.
    result = grade_submission(make_job(solution, needs_gpu=True), box)
    assert result.status is JobStatus.GRADED, result.error
    assert result.score == AUTOGRADED_MAX


def test_a_broken_template_is_a_grader_error_not_an_exception(box: ColdBox, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    job = GradingJob("a1", "mini", "alice", SOURCE, broken, SPECS, term_seed=TERM_SEED)
    result = grade_submission(job, box)
    assert result.status is JobStatus.ERROR
    assert "TemplateError" in result.error and result.score == 0


def test_a_runner_that_cannot_start_is_a_grader_error(
    box: ColdBox, solution: Path, tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    shutil.copytree(box.runtime_dir, runtime)
    (runtime / "autograder" / "runner" / "execute.py").write_text("raise ImportError('broken')\n")
    shutil.rmtree(runtime / "autograder" / "runner" / "__pycache__")
    result = grade_submission(make_job(solution), ColdBox(runtime, user=None))
    assert result.status is JobStatus.ERROR
    assert "runner did not start" in result.error and "broken" in result.error


def test_the_executor_entry_point_returns_a_json_ready_result(solution: Path) -> None:
    data = grade_submission_dict(make_job(solution, student="eve"))
    assert json.loads(json.dumps(data)) == data
    result = JobResult.from_dict(data)
    assert result.status is JobStatus.GRADED, result.error
    assert result.score == AUTOGRADED_MAX


def test_a_process_claims_the_next_free_uid_on_uid_in_use_and_no_other_error() -> None:
    from autograder.box.warm.files import UidInUse
    from autograder.pipeline import _claim_warm_box

    tried: list[int] = []

    def held_below_61002(runtime: Path, *, slots: int, uid_base: int) -> str:
        tried.append(uid_base)
        if uid_base < 61002:
            raise UidInUse(f"uid {uid_base} is in use by another warm box")
        return f"box at {uid_base}"

    assert _claim_warm_box(held_below_61002, Path("/runtime")) == "box at 61002"
    assert tried == [61000, 61001, 61002]

    def broken(runtime: Path, *, slots: int, uid_base: int) -> str:
        raise ValueError("uid 61000 belongs to the account 'alice'")  # not a busy uid

    with pytest.raises(ValueError, match="belongs to the account"):
        _claim_warm_box(broken, Path("/runtime"))
    with pytest.raises(RuntimeError, match="no free job uid"):
        _claim_warm_box(held_below_61002, Path("/runtime"), tries=2)
