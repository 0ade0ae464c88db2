"""The C densities' build: compiled once per machine into a cache keyed on the source, a clear error without a
compiler, and fits that fall back to the PyMC graph (with a warning) where no compiler works."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from bayescap.errors import BayescapWarning
from bayescap.models import c_build
from bayescap.models import capacity_density as cd
from bayescap.models import traffic_density as td

SOURCE = """
#include <stdint.h>
int64_t twice(int64_t v) { return 2 * v + OFFSET; }
"""


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty cache directory, and c_build's in-process caches forgotten before and after."""
    monkeypatch.setenv("BAYESCAP_CACHE_DIR", str(tmp_path / "cache"))
    for forget in (c_build.load, td.callbacks, cd.callbacks):
        forget.cache_clear()
    yield tmp_path
    for forget in (c_build.load, td.callbacks, cd.callbacks):
        forget.cache_clear()


def _twice(library) -> int:
    fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(c_build.function(library, "twice").address)
    return fn(20)


def test_a_library_is_compiled_once_and_a_changed_source_gets_a_new_one(fresh):
    source = fresh / "twice.c"
    source.write_text("#define OFFSET 1\n" + SOURCE)
    assert _twice(c_build.load(source)) == 41
    (built,) = (fresh / "cache").glob("twice-*.so")
    stamp = built.stat().st_mtime_ns
    c_build.load.cache_clear()  # a new process: the library is loaded from the cache, not compiled again
    assert _twice(c_build.load(source)) == 41
    assert built.stat().st_mtime_ns == stamp
    assert not list((fresh / "cache").glob(".twice-*")), "no temporary file is left behind"

    source.write_text("#define OFFSET 2\n" + SOURCE)
    c_build.load.cache_clear()
    assert _twice(c_build.load(source)) == 42, "an edited source must not load the old library"
    assert len(list((fresh / "cache").glob("twice-*.so"))) == 2


def test_an_unwritable_cache_compiles_for_the_process_and_a_damaged_library_is_rebuilt(fresh, monkeypatch):
    source = fresh / "twice.c"
    source.write_text("#define OFFSET 1\n" + SOURCE)
    blocker = fresh / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("BAYESCAP_CACHE_DIR", str(blocker / "cache"))
    assert _twice(c_build.load(source)) == 41

    monkeypatch.setenv("BAYESCAP_CACHE_DIR", str(fresh / "cache"))
    c_build.load.cache_clear()
    c_build.load(source)
    (built,) = (fresh / "cache").glob("twice-*.so")
    built.unlink()  # a new file: the loaded one stays mapped in this process
    built.write_bytes(b"not a shared library")
    c_build.load.cache_clear()
    assert _twice(c_build.load(source)) == 41


def test_no_compiler_and_a_failed_compile_say_what_went_wrong(fresh, monkeypatch):
    source = fresh / "broken.c"
    source.write_text("int broken( { return 0; }\n")
    with pytest.raises(c_build.CompilerUnavailable, match=r"could not compile broken\.c .*error"):
        c_build.load(source)
    assert not list((fresh / "cache").glob("*broken*")), "a failed compile leaves nothing in the cache"

    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(c_build.CompilerUnavailable, match=r"CC \('/nonexistent/cc'\) was not found; install a C compiler"):
        c_build.compiler()
    monkeypatch.setenv("CC", "gcc 'unbalanced")
    with pytest.raises(c_build.CompilerUnavailable, match="is not a command line"):
        c_build.compiler()
    monkeypatch.delenv("CC")
    monkeypatch.setenv("PATH", str(fresh))  # no cc, gcc or clang
    with pytest.raises(c_build.CompilerUnavailable, match="no C compiler found .*apt-get install gcc"):
        c_build.compiler()


def test_the_traffic_fit_samples_the_pymc_graph_where_no_compiler_works(fresh, monkeypatch):
    """Without a C compiler the fit warns, names what to install, and samples the same model's PyMC graph."""
    from bayescap.models import traffic
    from bayescap.models.traffic_synthetic import simulate_history

    monkeypatch.setenv("CC", "/nonexistent/cc")
    used = []

    def graph(*args, **kwargs):  # the PyMC graph's compilation (10-15 s) is what test_traffic_density's slow test runs
        used.append("pymc")
        raise RuntimeError("stop here")

    monkeypatch.setattr(traffic, "compiled_model", graph)
    df, _ = simulate_history(120, seed=1)
    with pytest.warns(BayescapWarning, match="install a C compiler.*Sampling the model's PyMC graph instead"):
        with pytest.raises(RuntimeError, match="stop here"):
            traffic.fit_traffic(df, draws=10, tune=10, seed=1)
    assert used == ["pymc"]


def test_the_capacity_fit_samples_the_pymc_graph_where_no_compiler_works(fresh, monkeypatch):
    from bayescap.models import capacity
    from bench.capacity import usl_benchmarks_frame

    monkeypatch.setenv("CC", "/nonexistent/cc")
    used = []

    def graph(*args, **kwargs):
        used.append("pymc")
        raise RuntimeError("stop here")

    monkeypatch.setattr(capacity, "compiled_for", graph)
    with pytest.warns(BayescapWarning, match="capacity model: .*install a C compiler.*PyMC graph instead"):
        with pytest.raises(RuntimeError, match="stop here"):
            capacity.fit_capacity(usl_benchmarks_frame(), draws=10, tune=10, seed=1)
    assert used == ["pymc"]


def test_the_cache_key_follows_the_compiler_and_flags(fresh, monkeypatch):
    """A library built by another compiler (or with other flags) is never loaded in its place."""
    source = fresh / "twice.c"
    source.write_text("#define OFFSET 1\n" + SOURCE)
    c_build.load(source)
    c_build.load.cache_clear()
    monkeypatch.setattr(c_build, "FLAGS", (*c_build.FLAGS, "-DUNUSED_FLAG"))
    c_build.load(source)
    assert len(list((fresh / "cache").glob("twice-*.so"))) == 2


def test_a_read_only_package_folder_uses_the_user_cache(fresh, monkeypatch):
    folder = fresh / "pkg"
    folder.mkdir()
    monkeypatch.delenv("BAYESCAP_CACHE_DIR")
    monkeypatch.setenv("HOME", str(fresh / "home"))
    assert c_build.cache_dir(folder / "x.c") == folder / "__pycache__"
    monkeypatch.setattr(c_build.os, "access", lambda path, mode: False)  # as an installed, read-only package
    assert c_build.cache_dir(folder / "x.c") == fresh / "home" / ".cache" / "bayescap"


def test_the_traffic_density_library_exports_both_callbacks():
    logp, expand = td.callbacks()
    assert logp.address and expand.address and logp.address != expand.address
    x = np.zeros(3)
    with pytest.raises(ValueError, match="grad must be"):
        td.logp_and_grad(x, np.zeros(2))


@pytest.mark.filterwarnings("always")  # shown, not turned into errors as bayescap's warnings are elsewhere in tests
def test_the_command_line_prints_the_fallback_as_one_warning_line(monkeypatch, capsys):
    """The CLI shows bayescap's warnings as one plain line (no file path, no source line)."""
    import warnings

    from bayescap import cli
    from bayescap.commands import check

    def warn_and_stop(args):
        warnings.warn("traffic model: no C compiler found. Sampling the model's PyMC graph instead", BayescapWarning,
                      stacklevel=2)
        return 0

    monkeypatch.setattr(check, "run", warn_and_stop)
    assert cli.main(["check"]) == 0
    err = capsys.readouterr().err
    assert err == "warning: traffic model: no C compiler found. Sampling the model's PyMC graph instead\n"


def test_an_installed_package_ships_every_c_source_and_header_the_densities_compile_from():
    """A wheel holds package data only where pyproject.toml says so: a missing header would make every fit on an
    installed copy fall back to the PyMC graph. Each .c file and each header it includes must match a pattern."""
    import fnmatch
    import re
    import tomllib

    from tests.conftest import REPO

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["bayescap.models"]
    models = REPO / "bayescap" / "models"
    needed = {p.name for p in models.glob("*.c")}
    for source in models.glob("*.c"):
        needed |= set(re.findall(r'#include "([^"]+)"', source.read_text()))
    assert {"traffic_density.c", "capacity_density.c", "density_common.h"} <= needed
    for name in needed:
        assert (models / name).is_file(), name
        assert any(fnmatch.fnmatch(name, pat) for pat in patterns), f"{name} is not shipped (package-data {patterns})"
