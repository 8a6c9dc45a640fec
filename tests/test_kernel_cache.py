"""The numba cache folder follows the kernels' sources (hubd.kernel_cache)."""

from __future__ import annotations

import shutil

from hubd import kernel_cache
from hubd.kernel_cache import KERNEL_SOURCES, PACKAGE, cache_folder, sources_digest


def copy_kernels(tmp_path):
    for name in KERNEL_SOURCES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACKAGE / name, tmp_path / name)
    return tmp_path


def test_a_change_to_a_called_kernel_file_is_a_new_cache_folder(tmp_path):
    """bulk_kernels.run_calls inlines health_kernels.check: a change to health alone must not
    leave run_calls' old machine code in use."""
    root = copy_kernels(tmp_path)
    before = sources_digest(root)
    assert before == sources_digest(PACKAGE)
    with open(root / "core/health_kernels.py", "a") as f:
        f.write("\n# a changed rule\n")
    assert sources_digest(root) != before


def test_the_folder_is_under_the_given_cache_dir_and_not_nested_again(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    first = cache_folder(env)
    assert first == tmp_path / "numba" / sources_digest()
    assert cache_folder({"NUMBA_CACHE_DIR": str(first)}) == first  # a child process inheriting it keeps it


def test_without_a_given_dir_the_users_cache_is_used(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert cache_folder(env) == tmp_path / "hubd" / "numba" / sources_digest()
    assert kernel_cache.default_base({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "hubd" / "numba"


def test_this_process_uses_the_folder():
    import os
    assert os.environ["NUMBA_CACHE_DIR"] == str(cache_folder())


def test_every_numba_module_of_hubd_is_in_the_digest():
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if "@njit" in p.read_text(encoding="utf-8") or "@numba.njit" in p.read_text(encoding="utf-8"))
    assert users and set(users) <= set(KERNEL_SOURCES), users
