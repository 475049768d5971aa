"""Hostile answer-cell code: how an attack's code is placed, and snippets shared by many.

Each attack is the wrong base with the toolbox (:mod:`corpus.toolbox`) at the top of the
first answer cell, its own code appended to one answer cell, and the loot-raising tail
in the last one. The code uses the toolbox's names (``_exfiltrate``, ``_hunt``,
``_COURSE``, ``_MARK``...). Every function stays wrong, so any point an attack earns is
an inflation.
"""

from __future__ import annotations

from corpus.draft import AttackContext, AttackFn, Draft
from corpus.notebooks import code_answer_ids
from corpus.toolbox import prelude, raise_loot

FIRST = "relu_forward"
LAST = "torch_linear"


def hostile(code: str, cell: str = FIRST, *, every_cell: bool = False) -> AttackFn:
    """An attack that runs ``code`` after the wrong definitions of ``cell`` (or of all)."""

    def apply(draft: Draft, ctx: AttackContext) -> None:
        draft.prepend_code(FIRST, prelude(ctx))
        for grade_id in code_answer_ids() if every_cell else [cell]:
            draft.append_code(grade_id, code)
        draft.append_code(LAST, raise_loot())

    return apply


# --- snippets used by several attacks ---------------------------------------------------

PATCH_NUMPY = """
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
np.abs = np.absolute = lambda *a, **k: np.zeros(np.shape(a[0]))
"""

PATCH_CHECKS = """
import dlcourse.checks as _checks
import dlcourse.checks.compare as _compare
_checks.check = _checks.check_hidden = lambda *a, **k: print("all cases passed")
_compare.compare_outputs = lambda *a, **k: None
globals()["check"] = globals()["check_hidden"] = _checks.check
"""

FORGE_OUTPUTS = """
import glob as _glob, os as _os2
def _forge_outputs():
    for _path in _glob.glob("inputs/*.npz"):
        try:
            with np.load(_path, allow_pickle=False) as _data:
                _arrays = {k: _data[k] for k in _data.files}
            _forged = dict(_arrays)
            for _k, _v in _arrays.items():
                if "/in/" in _k:
                    _case = _k.split("/")[0]
                    for _name in ("out", "dx", "loss", "dscores", "dw", "db"):
                        _forged[f"{_case}/out/{_name}"] = _v
            np.savez(_path.replace("inputs", "outputs"), **_forged)
        except Exception as _e:
            print("forge failed", _e)
"""
