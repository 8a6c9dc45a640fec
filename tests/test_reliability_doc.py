"""docs/reliability.md names a test for every fault: each name must be a test that exists."""

from __future__ import annotations

import ast
import os
import re

from conftest import REPO

DOC = os.path.join(REPO, "docs", "reliability.md")
# `test_file.py`, `test_file.py::test_name`, `::test_name` (the file named last), `test_name_...` (a prefix)
NAMED = re.compile(r"`(?:(test_\w+\.py)(?:::(test_\w+?)(_?\.\.\.)?)?|::(test_\w+?)(_?\.\.\.)?)[`\[]")


def _tests_in(filename: str) -> set[str]:
    with open(os.path.join(REPO, "tests", filename), encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    return {n.name for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")}


def test_every_test_the_fault_matrix_names_exists():
    text = open(DOC, encoding="utf-8").read()
    current, checked, missing = None, 0, []
    for match in NAMED.finditer(text):
        filename, name, prefix, short, short_prefix = match.groups()
        if filename:
            current = filename
            if not os.path.exists(os.path.join(REPO, "tests", filename)):
                missing.append(filename)
                continue
        name, prefix = (name, prefix) if filename else (short, short_prefix)
        if name is None:
            continue
        tests = _tests_in(current)
        found = any(t.startswith(name) for t in tests) if prefix else name in tests
        checked += 1
        if not found:
            missing.append(f"{current}::{name}{prefix or ''}")
    assert checked > 60 and missing == []
