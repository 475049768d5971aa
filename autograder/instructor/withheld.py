"""The graded references a student edition must not hold, found by their code.

:func:`withheld_references` starts from every reference function of every spec of the
course (the exercise modules' functions included) and follows what their code calls:
every function or class of the course library that a reference's code names (directly,
or as ``module.name``) in a graded module is withheld too, so a helper such as the
im2col of the fast convolution leaves with the function that uses it. The graded modules
are those the grading runtime hides for holding references
(:func:`~autograder.instructor.hidden.graded_modules`); shared helpers elsewhere (input
validation) stay. Each withheld function belongs to the first assignment, in
course order, whose references reach it (later assignments build on earlier ones).

:func:`strip_source` replaces the bodies of withheld functions in a module's source by a
``raise`` that names the assignment, keeping signatures, docstrings and everything
else, so every module still imports. :func:`body_hash` is a function body's normalised
AST (docstring, comments and layout left out): the edition proof looks for it in every
function of the edition, under any name.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import pkgutil
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass

import dlcourse
import dlcourse.exercises
from autograder.course import Course
from autograder.instructor.hidden import graded_modules
from autograder.specs import load_specs, reference_functions


@dataclass(frozen=True)
class Withheld:
    """One function of the course library that a student edition leaves out."""

    module: str
    qualname: str
    """``relu_forward``, or ``StepDecay.__call__`` for a method."""
    assignment: str
    """The first assignment, in course order, whose references reach it."""
    body_hash: str


def withheld_references(course: Course) -> list[Withheld]:
    """Every function a student edition of ``course`` withholds (see the module docstring)."""
    registries = {
        assignment.name: [load_specs(assignment.specs_path(nb)) for nb in assignment.notebooks]
        for assignment in course.require_assignments()
    }
    graded = {
        module.name for module in graded_modules(r for group in registries.values() for r in group)
    }
    owner: dict[tuple[str, str], tuple[str, object]] = {}
    for assignment in course.assignments:
        roots: list[object] = list(_exercise_functions(assignment.name))
        for registry in registries[assignment.name]:
            for spec in registry:
                roots.extend(reference_functions(spec))
        for function in _reachable(roots, graded):
            key = (function.__module__, function.__qualname__)
            owner.setdefault(key, (assignment.name, function))
    _keep_shared_helpers(owner, graded)
    return [
        Withheld(module, qualname, name, body_hash(function))  # type: ignore[arg-type]
        for (module, qualname), (name, function) in sorted(owner.items())
    ]


def _keep_shared_helpers(
    owner: dict[tuple[str, str], tuple[str, object]], graded: set[str]
) -> None:
    """Give back the private helpers that code the edition keeps also calls (argument
    checks such as ``_check_lr``, which ``dlcourse.torchoptim`` uses): withholding them
    would break that code, and a helper no reference owns alone answers no exercise."""
    kept = [
        function
        for function in _library_functions()
        if (function.__module__, function.__qualname__) not in owner
    ]
    while kept:
        named = {
            (getattr(item, "__module__", None), getattr(item, "__qualname__", None))
            for function in kept
            for item in _named_objects(function, graded)
        }
        shared = [
            key for key in named if key in owner and key[1].rpartition(".")[2].startswith("_")
        ]
        kept = [owner.pop(key)[1] for key in shared]  # type: ignore[misc]


def _library_functions() -> Iterator[types.FunctionType]:
    """Every function and method of the course library, the exercises and demo left out."""
    for info in pkgutil.walk_packages(dlcourse.__path__, "dlcourse."):
        if info.name.startswith(("dlcourse.exercises", "dlcourse.demo")):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value):
                yield value
            elif inspect.isclass(value):
                yield from (f for f in _methods(value) if inspect.isfunction(f))


def _exercise_functions(assignment: str) -> Iterator[object]:
    package = f"{dlcourse.exercises.__name__}.{assignment}"
    try:
        found = importlib.import_module(package)
    except ModuleNotFoundError:
        return
    for info in pkgutil.walk_packages(found.__path__, f"{package}."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isfunction(value) and value.__module__ == module.__name__:
                yield value


def _reachable(roots: list[object], graded: set[str]) -> list[types.FunctionType]:
    """The functions of the ``graded`` modules that ``roots`` are or call, transitively;
    methods of their classes too."""
    found: dict[int, types.FunctionType] = {}
    pending = list(roots)
    while pending:
        item = pending.pop()
        if inspect.isfunction(item):
            item = inspect.unwrap(item)
        if inspect.isclass(item) and item.__module__ in graded:
            pending.extend(_methods(item))
            continue
        if not inspect.isfunction(item) or id(item) in found:
            continue
        if item.__module__ not in graded or "<locals>" in item.__qualname__:
            continue
        if not item.__code__.co_filename.endswith(".py"):  # made by dataclasses, no source
            continue
        found[id(item)] = item
        pending.extend(_named_objects(item, graded))
    return list(found.values())


def _methods(cls: type) -> Iterator[object]:
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
        if inspect.isfunction(value) and value.__qualname__.startswith(cls.__qualname__ + "."):
            yield value


def _named_objects(function: types.FunctionType, graded: set[str]) -> Iterator[object]:
    """The functions and classes of the library that ``function``'s code names."""
    names: set[str] = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    scope = function.__globals__
    for name in names:
        value = scope.get(name)
        if isinstance(value, types.ModuleType) and value.__name__ in graded:
            yield from (getattr(value, attr) for attr in names if hasattr(value, attr))
        elif value is not None and (inspect.isfunction(value) or inspect.isclass(value)):
            yield value


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """The statements of a function, its docstring left out."""
    body = node.body
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        if isinstance(first.value.value, str):
            return body[1:]
    return body


def hash_body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The normalised body of a parsed function (names of the function itself left out)."""
    dumped = ast.dump(ast.Module(_body(node), []), annotate_fields=False)
    return hashlib.sha256(dumped.encode()).hexdigest()


def body_hash(function: types.FunctionType) -> str:
    """:func:`hash_body` of a live function, from its source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise ValueError(f"{function.__qualname__}: its source is not a function definition")
    return hash_body(node)


def function_nodes(
    tree: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function of a parsed module with its qualified name (methods, nested ones)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            qualname = f"{prefix}{node.name}"
            yield qualname, node
            yield from function_nodes(node, f"{qualname}.<locals>.")
        elif isinstance(node, ast.ClassDef):
            yield from function_nodes(node, f"{prefix}{node.name}.")
        else:
            yield from function_nodes(node, prefix)


def withheld_message(qualname: str, assignment: str) -> str:
    return (
        f"{qualname} is not in the student edition: it is what you write in assignment "
        f"{assignment} (the course team unlocks its reference after the due date); define "
        "your own in the notebook"
    )


def strip_source(source: str, withheld: dict[str, str]) -> str:
    """``source`` with the body of every function named in ``withheld`` (qualname ->
    assignment) replaced by a ``raise NotImplementedError`` naming the assignment."""
    lines = source.splitlines(keepends=True)
    edits = []
    for qualname, node in function_nodes(ast.parse(source)):
        if qualname not in withheld:
            continue
        body = _body(node)
        if not body:  # a docstring alone (an abstract method): no code to withhold
            continue
        if body[0].lineno == node.lineno:
            raise ValueError(f"{qualname}: a one-line function cannot be withheld; split it")
        start, end = body[0].lineno - 1, node.end_lineno or body[-1].lineno
        indent = " " * body[0].col_offset
        message = withheld_message(qualname, withheld[qualname])
        edits.append((start, end, f"{indent}raise NotImplementedError({message!r})\n"))
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text]
    return "".join(lines)
