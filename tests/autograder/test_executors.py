"""The executors on real process pools and a real Dask cluster on 127.0.0.1.

Jobs run :func:`executor_jobs.scripted_job`, which follows a script in the job's
submission file and reports where it ran; side-effect files prove whether it ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dask_cluster import DaskTestCluster, WorkerSpec, start_cluster
from executor_jobs import SCRIPTED, Script, scripted_job, write_job

from autograder.executors import (
    DaskExecutor,
    Executor,
    LocalExecutor,
    awaiting_gpu_result,
    resolve_job_fn,
)
from autograder.intake import CellRole, load_template
from autograder.job import WORKER_DIED, GradingJob, JobResult, JobStatus, VerdictStatus


@pytest.fixture
def template(notebooks) -> Path:
    """The conftest assignment's instructor notebook (max score 14) on disk."""
    return notebooks.write(notebooks.source(), "hw1.source.ipynb")


def by_student(pairs: list[tuple[GradingJob, dict]]) -> dict[str, JobResult]:
    """Results keyed by student, checking each came back once and matches its job."""
    results: dict[str, JobResult] = {}
    for job, data in pairs:
        result = JobResult.from_dict(data)
        assert result.key == job.key
        assert job.student_id not in results, f"{job.student_id} came back twice"
        results[job.student_id] = result
    return results


def run_lines(log: Path) -> list[str]:
    """One line per time a scripted job function started."""
    return log.read_text().splitlines() if log.exists() else []


# --- results built without running the job ----------------------------------------------


def test_awaiting_gpu_result_lists_every_test_unscored_with_the_template_max_score(
    tmp_path, template, notebooks
):
    job = write_job(tmp_path, "s1", Script(), template, needs_gpu=True)

    result = JobResult.from_dict(awaiting_gpu_result(job))

    assert result.status is JobStatus.AWAITING_GPU
    assert (result.score, result.max_score) == (0.0, notebooks.max_score)
    assert {v.test_id: v.max_points for v in result.verdicts} == {"test_square": 2, "test_cube": 3}
    assert all(v.status is VerdictStatus.AWAITING_GPU and v.points == 0 for v in result.verdicts)
    assert result.manual_cells == ["explain", "task_plot"]  # answers and tasks, as graded
    assert result.fingerprint == "", "an unfinished job must be graded again on resume"


def test_awaiting_gpu_with_an_unreadable_template_is_an_error(tmp_path):
    job = write_job(tmp_path, "s1", Script(), tmp_path / "missing.ipynb", needs_gpu=True)

    result = JobResult.from_dict(awaiting_gpu_result(job))

    assert result.status is JobStatus.ERROR
    assert "cannot read instructor notebook" in result.error


def test_job_function_references_resolve_by_name_and_malformed_ones_are_refused():
    assert resolve_job_fn(SCRIPTED) is scripted_job
    with pytest.raises(ValueError, match="module:function"):
        LocalExecutor(workers=1, job_fn="executor_jobs.scripted_job", has_gpu=False)


# --- local process pool -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool():
    """Two CPU workers shared by the tests below: spawning workers is the slow part."""
    with LocalExecutor(workers=2, job_fn=SCRIPTED, has_gpu=False) as executor:
        yield executor


def test_local_returns_every_job_once_with_its_result(pool, tmp_path, template):
    jobs = [write_job(tmp_path, f"s{i}", Script(), template) for i in range(6)]

    assert isinstance(pool, Executor)
    results = by_student(list(pool.map_unordered(jobs)))

    assert sorted(results) == sorted(job.student_id for job in jobs)
    assert all(r.status is JobStatus.GRADED and r.score == 1 for r in results.values())


def test_local_yields_in_completion_order_from_parallel_processes(pool, tmp_path, template):
    done = tmp_path / "fast.done"
    # "slow" is submitted first but cannot finish before "fast" has, and it can only
    # see "fast" finish if both run at the same time in different processes.
    slow = write_job(tmp_path, "slow", Script(wait_for=str(done)), template)
    fast = write_job(tmp_path, "fast", Script(touch=str(done)), template)

    pairs = list(pool.map_unordered([slow, fast]))

    assert [job.student_id for job, _ in pairs] == ["fast", "slow"]
    results = by_student(pairs)
    assert results["slow"].status is JobStatus.GRADED
    assert results["slow"].execution["pid"] != results["fast"].execution["pid"]


def test_local_job_that_raises_becomes_an_error_and_the_others_complete(
    pool, tmp_path, template, notebooks
):
    jobs = [
        write_job(tmp_path, "before", Script(), template),
        write_job(tmp_path, "raiser", Script(action="raise"), template),
        write_job(tmp_path, "after", Script(), template),
    ]

    results = by_student(list(pool.map_unordered(jobs)))

    assert results["raiser"].status is JobStatus.ERROR
    assert "RuntimeError: scripted failure for raiser" in results["raiser"].error
    assert "executor_jobs.py" in results["raiser"].error, "the traceback is kept"
    assert results["raiser"].max_score == notebooks.max_score
    assert results["before"].status is results["after"].status is JobStatus.GRADED


def test_local_worker_that_dies_errors_only_its_job_and_the_pool_recovers(pool, tmp_path, template):
    crashed = tmp_path / "crasher.touched"
    # The bystander is guaranteed to be running in the other worker when the crasher
    # kills its own: the pool then fails both, and only the crasher may get the blame.
    bystander = write_job(tmp_path, "bystander", Script(wait_for=str(crashed), sleep=1), template)
    crasher = write_job(tmp_path, "crasher", Script(action="exit", touch=str(crashed)), template)
    later = [write_job(tmp_path, f"later{i}", Script(), template) for i in range(3)]

    results = by_student(list(pool.map_unordered([bystander, crasher, *later])))
    again = by_student(list(pool.map_unordered([write_job(tmp_path, "next", Script(), template)])))

    assert results["crasher"].status is JobStatus.ERROR
    assert "died" in results["crasher"].error
    graded = {name for name, r in results.items() if r.status is JobStatus.GRADED}
    assert graded == {"bystander", "later0", "later1", "later2"}
    assert again["next"].status is JobStatus.GRADED


def test_local_job_whose_worker_dies_once_is_rerun_in_a_fresh_worker(pool, tmp_path, template):
    ran = tmp_path / "ran.log"
    script = Script(action="exit_once", marker=str(tmp_path / "died"), ran_log=str(ran))
    job = write_job(tmp_path, "phoenix", script, template)

    results = by_student(list(pool.map_unordered([job])))

    assert results["phoenix"].status is JobStatus.GRADED
    first, second = (line.split()[0] for line in run_lines(ran))
    assert first != second, "the retry ran in another worker process"


def test_local_job_that_kills_its_worker_twice_is_an_error_saying_so(pool, tmp_path, template):
    ran = tmp_path / "ran.log"
    job = write_job(tmp_path, "killer", Script(action="exit", ran_log=str(ran)), template)

    results = by_student(list(pool.map_unordered([job])))

    assert results["killer"].status is JobStatus.ERROR
    assert results["killer"].error == WORKER_DIED
    assert len(run_lines(ran)) == 2, "one run and one retry, then the blame"


def test_local_workers_run_their_atexit_hooks_when_the_executor_closes(tmp_path, template):
    # The pipeline closes each worker's cached sandbox box from atexit.
    closed = tmp_path / "worker.closed"
    job = write_job(tmp_path, "s1", Script(at_exit=str(closed)), template)

    with LocalExecutor(workers=1, job_fn=SCRIPTED, has_gpu=False) as executor:
        results = by_student(list(executor.map_unordered([job])))
        assert not closed.exists()

    assert results["s1"].status is JobStatus.GRADED
    assert closed.exists()


def test_local_gpu_job_on_a_cpu_machine_awaits_a_gpu_and_never_runs(tmp_path, template, notebooks):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so GPU jobs do run here")
    ran = tmp_path / "gpu.ran"
    gpu_job = write_job(tmp_path, "gpu", Script(ran_log=str(ran)), template, needs_gpu=True)
    cpu_job = write_job(tmp_path, "cpu", Script(), template)

    with LocalExecutor(workers=1, job_fn=SCRIPTED) as executor:
        assert executor.has_gpu is False
        results = by_student(list(executor.map_unordered([gpu_job, cpu_job])))

    assert results["gpu"].status is JobStatus.AWAITING_GPU
    assert results["gpu"].max_score == notebooks.max_score
    assert results["cpu"].status is JobStatus.GRADED
    assert not ran.exists(), "the job function ran for a GPU job on a machine without a GPU"


def test_local_gpu_jobs_take_turns_on_the_gpu_while_cpu_jobs_run_beside_them(tmp_path, template):
    gpu_jobs = [
        write_job(tmp_path, f"gpu{i}", Script(sleep=0.3), template, needs_gpu=True)
        for i in range(2)
    ]
    cpu_job = write_job(tmp_path, "cpu", Script(sleep=0.3), template)

    with LocalExecutor(workers=2, job_fn=SCRIPTED, has_gpu=True, gpu_slots=1) as executor:
        results = by_student(list(executor.map_unordered([*gpu_jobs, cpu_job])))

    first, second = (results[f"gpu{i}"].execution for i in range(2))
    assert first["ended"] <= second["started"] or second["ended"] <= first["started"]
    assert results["cpu"].status is JobStatus.GRADED


@pytest.mark.slow
def test_local_grades_a_real_submission_with_the_default_pipeline(tmp_path):
    # The default job function, end to end: spawned worker, sandbox, trusted verdicts.
    mini = Path(__file__).parent / "fixtures" / "mini"
    submission = tmp_path / "mini.ipynb"
    shutil.copy(mini / "mini.ipynb", submission)  # the source notebook is the solution
    job = GradingJob(
        assignment="a1",
        notebook="mini",
        student_id="alice",
        submission_path=submission,
        template_path=mini / "mini.ipynb",
        specs_path=mini / "mini.specs.py",
        term_seed=2024,
    )
    template = load_template(mini / "mini.ipynb")
    test_points = sum(cell.points for cell in template.cells if cell.role is CellRole.TESTS)

    with LocalExecutor(workers=1, has_gpu=False) as executor:
        [(_, data)] = list(executor.map_unordered([job]))

    result = JobResult.from_dict(data)
    assert result.status is JobStatus.GRADED, result.error
    assert (result.score, result.max_score) == (test_points, template.max_score)
    assert all(v.status is VerdictStatus.PASSED for v in result.verdicts)


# --- Dask distributed ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpu_cluster(tmp_path_factory):
    """A scheduler, one CPU worker and one worker advertising ``GPU=1``."""
    cluster = start_cluster(
        tmp_path_factory.mktemp("dask-gpu"),
        (WorkerSpec("cpu-worker"), WorkerSpec("gpu-worker", {"GPU": 1})),
    )
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def cpu_cluster(tmp_path_factory):
    """A scheduler and one CPU worker: nobody can run GPU jobs."""
    cluster = start_cluster(tmp_path_factory.mktemp("dask-cpu"), (WorkerSpec("cpu-only"),))
    yield cluster
    cluster.stop()


@pytest.fixture
def gpu_cluster_ready(gpu_cluster: DaskTestCluster) -> DaskTestCluster:
    """The GPU cluster with both workers up (a test may have killed one)."""
    gpu_cluster.wait_for_workers()
    return gpu_cluster


@pytest.fixture
def cpu_cluster_ready(cpu_cluster: DaskTestCluster) -> DaskTestCluster:
    cpu_cluster.wait_for_workers()
    return cpu_cluster


def test_dask_completes_every_cpu_job(tmp_path, template, gpu_cluster_ready):
    jobs = [write_job(tmp_path, f"s{i}", Script(sleep=0.1), template) for i in range(6)]

    with DaskExecutor(gpu_cluster_ready.address, job_fn=SCRIPTED) as executor:
        assert isinstance(executor, Executor)
        results = by_student(list(executor.map_unordered(jobs)))

    assert sorted(results) == sorted(job.student_id for job in jobs)
    assert all(r.status is JobStatus.GRADED for r in results.values())
    assert {r.execution["worker"] for r in results.values()} <= {"cpu-worker", "gpu-worker"}


def test_dask_runs_gpu_jobs_only_on_the_worker_advertising_a_gpu(
    tmp_path, template, gpu_cluster_ready
):
    gpu_jobs = [
        write_job(tmp_path, f"gpu{i}", Script(sleep=0.2), template, needs_gpu=True)
        for i in range(4)
    ]
    cpu_jobs = [write_job(tmp_path, f"cpu{i}", Script(sleep=0.2), template) for i in range(4)]

    with DaskExecutor(gpu_cluster_ready.address, job_fn=SCRIPTED) as executor:
        assert executor.has_gpu is True
        results = by_student(list(executor.map_unordered([*gpu_jobs, *cpu_jobs])))

    assert all(r.status is JobStatus.GRADED for r in results.values())
    for job in gpu_jobs:
        execution = results[job.student_id].execution
        assert execution["worker"] == "gpu-worker"
        assert execution["worker_resources"] == {"GPU": 1}


def test_dask_grades_identical_jobs_in_one_batch_once(tmp_path, template, gpu_cluster_ready):
    ran = tmp_path / "ran.log"
    job = write_job(tmp_path, "twice", Script(ran_log=str(ran), sleep=0.2), template)

    with DaskExecutor(gpu_cluster_ready.address, job_fn=SCRIPTED) as executor:
        pairs = list(executor.map_unordered([job, job]))

    assert [j for j, _ in pairs] == [job, job]
    assert all(JobResult.from_dict(d).status is JobStatus.GRADED for _, d in pairs)
    assert len(run_lines(ran)) == 1


def test_dask_retries_a_raising_job_then_reports_an_error(tmp_path, template, gpu_cluster_ready):
    ran = tmp_path / "ran.log"
    job = write_job(tmp_path, "raiser", Script(action="raise", ran_log=str(ran)), template)

    with DaskExecutor(gpu_cluster_ready.address, job_fn=SCRIPTED, retries=1) as executor:
        results = by_student(list(executor.map_unordered([job])))

    assert results["raiser"].status is JobStatus.ERROR
    assert "RuntimeError: scripted failure for raiser" in results["raiser"].error
    assert len(run_lines(ran)) == 2, "one run and one retry"


def test_dask_reruns_a_job_whose_worker_died_on_the_other_worker(
    tmp_path, template, gpu_cluster_ready
):
    ran = tmp_path / "ran.log"
    script = Script(action="exit_once", marker=str(tmp_path / "died"), ran_log=str(ran))
    job = write_job(tmp_path, "phoenix", script, template)

    with DaskExecutor(gpu_cluster_ready.address, job_fn=SCRIPTED) as executor:
        results = by_student(list(executor.map_unordered([job])))

    result = results["phoenix"]
    assert result.status is JobStatus.GRADED
    assert len(run_lines(ran)) == 2
    # The dead worker's replacement is still starting when the task is rescheduled.
    assert result.execution["first_worker"] != result.execution["worker"]


def test_dask_without_a_gpu_worker_returns_gpu_jobs_awaiting_without_running_them(
    tmp_path, template, notebooks, cpu_cluster_ready
):
    ran = tmp_path / "gpu.ran"
    gpu_job = write_job(tmp_path, "gpu", Script(ran_log=str(ran)), template, needs_gpu=True)
    cpu_job = write_job(tmp_path, "cpu", Script(), template)

    with DaskExecutor(cpu_cluster_ready.address, job_fn=SCRIPTED) as executor:
        assert executor.has_gpu is False
        results = by_student(list(executor.map_unordered([gpu_job, cpu_job])))

    assert results["gpu"].status is JobStatus.AWAITING_GPU
    assert results["gpu"].max_score == notebooks.max_score
    assert results["cpu"].status is JobStatus.GRADED
    assert not ran.exists()


def test_dask_job_that_keeps_killing_workers_becomes_an_error(
    tmp_path, template, cpu_cluster_ready
):
    ran = tmp_path / "ran.log"
    job = write_job(tmp_path, "killer", Script(action="exit", ran_log=str(ran)), template)

    with DaskExecutor(cpu_cluster_ready.address, job_fn=SCRIPTED) as executor:
        results = by_student(list(executor.map_unordered([job])))

    assert results["killer"].status is JobStatus.ERROR
    assert "KilledWorker" in results["killer"].error
    # allowed-failures=1: one reschedule; then the executor's one fresh submission (Dask
    # blames innocent neighbours too), again with one reschedule; then it gives up.
    assert len(run_lines(ran)) == 4
