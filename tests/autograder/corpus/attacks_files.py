"""Attacks on the submission *files*: tampered cells, kernels, names, links, bad bytes.

These never need to run: they target intake (what is read from the submission, and how)
and the driver (which files it picks up). Intake restores every non-answer cell from the
template, so none of them may change what runs or what it is worth.
"""

from __future__ import annotations

import copy
import json
import pickle
import random

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from autograder.intake import CellRole
from corpus.attacks_results import PICKLE_FILE
from corpus.cellcode import FIRST, FORGE_OUTPUTS, LAST, PATCH_CHECKS, hostile
from corpus.draft import Attack, AttackClass, AttackContext, Draft
from corpus.notebooks import TEMPLATE

_TEST_IDS = [cell.grade_id for cell in TEMPLATE.cells if cell.role is CellRole.TESTS]


def _test_cells(notebook: NotebookNode) -> list[NotebookNode]:
    return [
        cell
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") in _TEST_IDS
    ]


# --- cell tampering -----------------------------------------------------------------------


def edit_tests(draft: Draft, ctx: AttackContext) -> None:
    """Test cells print a success line instead of checking anything."""
    for cell in _test_cells(draft.notebook):
        cell.source = 'print("all cases passed")'


def delete_tests(draft: Draft, ctx: AttackContext) -> None:
    """No test cells at all."""
    tests = {id(cell) for cell in _test_cells(draft.notebook)}
    draft.notebook.cells = [cell for cell in draft.notebook.cells if id(cell) not in tests]


def duplicate_cells(draft: Draft, ctx: AttackContext) -> None:
    """Every answer and test cell twice; the copies patch checks and claim 100 points."""
    cells = []
    for cell in draft.notebook.cells:
        cells.append(cell)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") in _TEST_IDS or meta.get("solution"):
            twin = copy.deepcopy(cell)
            twin.metadata.nbgrader["points"] = 100
            if cell.cell_type == "code":
                twin.source = PATCH_CHECKS.strip()
            cells.append(twin)
    draft.notebook.cells = cells


def retype_cells(draft: Draft, ctx: AttackContext) -> None:
    """Test cells become markdown, code answers become raw cells."""
    for cell in draft.notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") in _TEST_IDS:
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
        elif meta.get("solution") and cell.cell_type == "code" and meta["grade_id"] != FIRST:
            cell.cell_type = "raw"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)


def change_points(draft: Draft, ctx: AttackContext) -> None:
    """Points raised to 1000, answers made graded, a new graded cell added."""
    for cell in draft.notebook.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        if meta.get("grade_id") in _TEST_IDS:
            meta["points"] = 1000
        elif meta.get("solution"):
            meta.update(grade=True, points=1000)
    bonus = {
        "grade": True,
        "grade_id": "bonus_test",
        "locked": True,
        "points": 1000,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    draft.notebook.cells.append(new_code_cell("pass", metadata={"nbgrader": bonus}))


def unlock_tests(draft: Draft, ctx: AttackContext) -> None:
    """Test cells marked as unlocked solution cells holding the student's own "test"."""
    for cell in _test_cells(draft.notebook):
        cell.metadata.nbgrader.update(solution=True, locked=False)
        cell.source = PATCH_CHECKS.strip()


def extra_code_cells(draft: Draft, ctx: AttackContext) -> None:
    """Unmarked code cells before every test that patch the check API and forge outputs."""
    cells = []
    for cell in draft.notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in _TEST_IDS:
            cells.append(new_code_cell(PATCH_CHECKS.strip() + "\n" + FORGE_OUTPUTS.strip()))
        cells.append(cell)
    draft.notebook.cells = cells


# --- kernels and files --------------------------------------------------------------------


def swap_kernel(draft: Draft, ctx: AttackContext) -> None:
    """A kernelspec and language that are not the course's."""
    draft.notebook.metadata["kernelspec"] = {
        "name": "evil-bash",
        "display_name": "Bash",
        "language": "bash",
        "argv": ["/bin/sh", "-c", f"touch /tmp/{ctx.escape_name}-kernel"],
    }
    draft.notebook.metadata["language_info"] = {"name": "bash", "version": "5"}


def rename_notebook(draft: Draft, ctx: AttackContext) -> None:
    """The notebook saved under a browser-download name."""
    draft.notebook_name = "mini (2).ipynb"


def extra_notebooks(draft: Draft, ctx: AttackContext) -> None:
    """Decoy notebooks beside the real one, one of them hostile."""
    decoy = copy.deepcopy(draft.notebook)
    hostile(PATCH_CHECKS)(Draft(decoy), ctx)
    text = json.dumps(decoy).encode()
    for name in ("mini_final.ipynb", "Mini.ipynb", "mini.ipynb.bak", "solution.ipynb"):
        draft.extra_files[name] = text


def shadow_modules(draft: Draft, ctx: AttackContext) -> None:
    """Modules next to the notebook that would shadow numpy, torch, dlcourse, site hooks."""
    payload = (
        "import os\n"
        f"for d in {ctx.escape_dirs()!r}:\n"
        "    try:\n"
        f"        open(os.path.join(d, {ctx.escape_name + '-import'!r}), 'w').write(__name__)\n"
        "    except Exception:\n"
        "        pass\n"
        "allclose = lambda *a, **k: True\n"
    ).encode()
    for name in (
        "numpy.py",
        "torch.py",
        "dlcourse.py",
        "IPython.py",
        "sitecustomize.py",
        "usercustomize.py",
        "autograder.py",
        "nbformat.py",
        "sqlalchemy.py",
    ):
        draft.extra_files[name] = payload
    draft.extra_files["dlcourse/__init__.py"] = payload
    draft.extra_files["dlcourse/checks/__init__.py"] = payload
    hostile("import numpy\nprint(numpy.__file__)")(draft, ctx)


def symlink_to_source(draft: Draft, ctx: AttackContext) -> None:
    """mini.ipynb is a link to the instructor's source notebook (all the solutions)."""
    draft.omit_notebook = True
    draft.symlinks["mini.ipynb"] = str(ctx.course_dir / "source" / "mini" / "mini.ipynb")


def symlink_extras(draft: Draft, ctx: AttackContext) -> None:
    """Links to the specs, the gradebook and system files under innocent names."""
    draft.symlinks.update(
        {
            "data.npz": str(ctx.course_dir / "source" / "mini" / "mini.specs.py"),
            "checks": "/etc",
            "gradebook.db": str(ctx.course_dir / "gradebook.db"),
            "other.ipynb": str(ctx.course_dir / "submitted"),
        }
    )


# --- malformed files ------------------------------------------------------------------------


def truncated_json(draft: Draft, ctx: AttackContext) -> None:
    text = json.dumps(draft.notebook)
    draft.raw = text[: len(text) // 2].encode()


def binary_garbage(draft: Draft, ctx: AttackContext) -> None:
    generator = random.Random(7)
    draft.raw = b"\x00\xff" + bytes(generator.randrange(256) for _ in range(50_000))


def huge_notebook(draft: Draft, ctx: AttackContext) -> None:
    """25 MB of source in one answer: over intake's size cap."""
    draft.answer(FIRST).source += "\n# " + "x" * 25_000_000


def deep_nesting(draft: Draft, ctx: AttackContext) -> None:
    """JSON nested 200 000 levels deep in a metadata field."""
    text = json.dumps(draft.notebook)
    depth = 200_000
    draft.raw = text.replace(
        '"metadata": {', '"metadata": {"x": ' + "[" * depth + "]" * depth + ", ", 1
    ).encode()


def bad_schema(draft: Draft, ctx: AttackContext) -> None:
    """nbformat 5, cells with numbers for sources and dicts for lists, a UTF-16 BOM."""
    document = json.loads(json.dumps(draft.notebook))
    document["nbformat"] = 5
    document["cells"][0]["source"] = 12345
    document["cells"][1]["outputs"] = {"not": "a list"}
    document["cells"].append({"cell_type": "alien", "source": None})
    draft.raw = "\ufeff".encode("utf-16") + json.dumps(document).encode("utf-16-le")


def _unpickle_payload(ctx: AttackContext) -> bytes:
    """A checkpoint whose unpickling drops escape files and writes a marker in the cwd."""
    code = (
        "import os\n"
        f"for d in {ctx.escape_dirs()!r}:\n"
        "    try:\n"
        f"        open(os.path.join(d, {ctx.escape_name + '-ckpt'!r}), 'w').write('unpickled')\n"
        "    except Exception:\n"
        "        pass\n"
        "open('ckpt-unpickled', 'w').write('x')\n"
    )

    class Checkpoint:
        def __reduce__(self) -> tuple:
            return (exec, (code,))

    return pickle.dumps(Checkpoint())


def pickle_checkpoint(draft: Draft, ctx: AttackContext) -> None:
    """``ckpt.pkl`` beside the notebook, loaded by the answer with ``pickle.load``."""
    draft.extra_files["ckpt.pkl"] = _unpickle_payload(ctx)
    draft.extra_files["model.pt"] = _unpickle_payload(ctx)
    hostile(FORGE_OUTPUTS + PICKLE_FILE, cell=LAST)(draft, ctx)


def file_attacks() -> list[Attack]:
    """The attacks on files and cells."""
    c = AttackClass
    return [
        Attack("cells-edit-tests", c.CELL_TAMPERING, "test cells print success", edit_tests),
        Attack("cells-delete-tests", c.CELL_TAMPERING, "all test cells deleted", delete_tests),
        Attack("cells-duplicate", c.CELL_TAMPERING, "duplicated cells worth 100", duplicate_cells),
        Attack("cells-retype", c.CELL_TAMPERING, "tests to markdown, answers to raw", retype_cells),
        Attack("cells-points", c.CELL_TAMPERING, "points 1000 and a bonus cell", change_points),
        Attack("cells-unlock-tests", c.CELL_TAMPERING, "tests become solution cells", unlock_tests),
        Attack(
            "cells-extra-code", c.CELL_TAMPERING, "extra cells patch before tests", extra_code_cells
        ),
        Attack("kernel-swap", c.KERNELSPEC, "bash kernelspec with an argv", swap_kernel),
        Attack("files-renamed", c.FILES, "saved as 'mini (2).ipynb'", rename_notebook),
        Attack("files-extra-notebooks", c.FILES, "decoy notebooks beside it", extra_notebooks),
        Attack(
            "files-shadow-modules", c.FILES, "numpy.py, dlcourse/, sitecustomize.py", shadow_modules
        ),
        Attack(
            "files-symlink-source", c.FILES, "mini.ipynb links to the source", symlink_to_source
        ),
        Attack("files-symlink-extras", c.FILES, "links to specs, gradebook, /etc", symlink_extras),
        Attack("malformed-truncated", c.MALFORMED, "JSON cut in half", truncated_json),
        Attack("malformed-binary", c.MALFORMED, "random bytes", binary_garbage),
        Attack("malformed-huge", c.MALFORMED, "25 MB notebook", huge_notebook),
        Attack("malformed-deep", c.MALFORMED, "200 000 nested lists", deep_nesting),
        Attack("malformed-schema", c.MALFORMED, "nbformat 5, UTF-16, bad types", bad_schema),
        Attack("pickle-file", c.PICKLE, "ckpt.pkl loaded with pickle.load", pickle_checkpoint),
    ]
