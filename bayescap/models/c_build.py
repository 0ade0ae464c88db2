"""Compile a C file of this package into a shared library with the system's C compiler, cached on disk.

Why: the models' log densities (``traffic_density.c``, ``capacity_density.c``) were numba code whose first
compilation on a machine took 4-8 s each, most of a first fit's time; the C compiler builds the same loops in about
1 s, and a later process loads the library from the cache in milliseconds. PyMC users have a C compiler already
(PyTensor's default backend needs one); where there is none, :class:`CompilerUnavailable` says what to install and
the fits fall back to sampling their PyMC graphs.

The cache key is a hash of the source and the headers beside it, the compiler and its version, the flags and the
CPU (``-march=native`` code must not be loaded on another CPU), so a changed source or a new compiler builds a new
library and an old one is never loaded by mistake. The library is written under a temporary name and renamed into
place: two processes compiling at once both succeed, and a half-written file is never loaded.

Cache directory: ``$BAYESCAP_CACHE_DIR`` if set; else ``__pycache__`` next to the source when writable (as numba's
cache); else ``~/.cache/bayescap``.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bayescap.errors import ModelError

# IEEE arithmetic except what lets loops vectorise (reassociated sums, fused multiply-add, reciprocals); no
# "finite math only": a non-finite density must stay visible to the callbacks' checks
FLAGS = ("-O3", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math", "-fno-signed-zeros",
         "-fassociative-math", "-freciprocal-math", "-ffp-contract=fast")
NATIVE = "-march=native"
COMPILERS = ("cc", "gcc", "clang")
INSTALL_HINT = ("install a C compiler (Debian/Ubuntu: apt-get install gcc; Fedora: dnf install gcc; macOS: "
                "xcode-select --install) or name one in the CC environment variable")


class CompilerUnavailable(ModelError):
    """No working C compiler: the message says what to install."""


@dataclass(frozen=True)
class CFunction:
    """A function of a loaded library: ``address`` is what nutpie calls; ``library`` keeps it loaded."""

    address: int
    library: ctypes.CDLL


def compiler() -> list[str]:
    """The C compiler's command: ``$CC`` (may carry arguments) or the first of cc, gcc, clang on the PATH."""
    named = os.environ.get("CC", "").strip()
    if named:
        try:
            cmd = shlex.split(named)
        except ValueError as exc:
            raise CompilerUnavailable(f"CC ({named!r}) is not a command line ({exc}); {INSTALL_HINT}") from exc
        if shutil.which(cmd[0]) is None:
            raise CompilerUnavailable(f"the C compiler named in CC ({named!r}) was not found; {INSTALL_HINT}")
        return cmd
    for name in COMPILERS:
        path = shutil.which(name)
        if path:
            return [path]
    raise CompilerUnavailable(f"no C compiler found (looked for {', '.join(COMPILERS)} on the PATH); {INSTALL_HINT}")


def cache_dir(source: Path) -> Path:
    """Where compiled libraries are kept (see the module's docstring)."""
    named = os.environ.get("BAYESCAP_CACHE_DIR")
    if named:
        return Path(named)
    beside = source.parent / "__pycache__"
    try:
        beside.mkdir(exist_ok=True)
        if os.access(beside, os.W_OK):
            return beside
    except OSError:
        pass
    return Path.home() / ".cache" / "bayescap"


@functools.cache
def _compiler_version(cmd: tuple[str, ...]) -> str:
    try:
        done = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompilerUnavailable(f"the C compiler {cmd[0]} does not run ({exc}); {INSTALL_HINT}") from exc
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else done.stderr.strip()[:200]


def compiler_version() -> str:
    """The C compiler's version line (what a run's reproducibility record names), or why there is none."""
    try:
        return _compiler_version(tuple(compiler()))
    except CompilerUnavailable:
        return "none (the PyMC graphs are sampled)"


def _cpu() -> str:
    """This CPU's identity for the cache key (model and feature flags where Linux tells them)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    wanted = ("model name", "flags", "Features", "CPU part")
    lines = [line for line in text.splitlines() if line.split(":")[0].strip() in wanted]
    return "\n".join(sorted(set(lines)))


def _build(cmd: list[str], source: Path, target: Path, native: bool) -> subprocess.CompletedProcess:
    flags = [*FLAGS, NATIVE] if native else list(FLAGS)
    try:
        return subprocess.run([*cmd, *flags, "-o", str(target), str(source), "-lm"], capture_output=True, text=True,
                              timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompilerUnavailable(f"the C compiler {cmd[0]} could not be run on {source.name} ({exc}); "
                                  f"{INSTALL_HINT}") from exc


def _key(source: Path, cmd: list[str]) -> str:
    key = hashlib.sha256()
    headers = [h.read_bytes() for h in sorted(source.parent.glob("*.h"))]  # what the source may include
    for part in (source.read_bytes(), *headers, " ".join(cmd).encode(), _compiler_version(tuple(cmd)).encode(),
                 " ".join([*FLAGS, NATIVE]).encode(), platform.machine().encode(), _cpu().encode()):
        key.update(part)
        key.update(b"\0")
    return key.hexdigest()[:20]


def _compile(cmd: list[str], source: Path, target: Path) -> None:
    """Compile ``source`` to ``target``: under a temporary name beside it, renamed into place when complete."""
    fd, tmp = tempfile.mkstemp(prefix=f".{source.stem}-", suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        done = _build(cmd, source, Path(tmp), native=True)
        if done.returncode != 0:  # a compiler without -march=native: portable code (key: the source is the same)
            done = _build(cmd, source, Path(tmp), native=False)
        if done.returncode != 0:
            raise CompilerUnavailable(f"{cmd[0]} could not compile {source.name} (exit {done.returncode}): "
                                      f"{done.stderr.strip()[-1500:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@functools.cache
def load(source: Path) -> ctypes.CDLL:
    """The shared library built from ``source`` (compiled on first use on a machine, then loaded from the cache).

    An unwritable cache costs a compilation per process (in a private temporary folder), never the fit; a cached
    library that does not load (damaged on disk) is compiled again.
    """
    cmd = compiler()
    folder = cache_dir(source)
    target = folder / f"{source.stem}-{_key(source, cmd)}.so"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            _compile(cmd, source, target)
        try:
            return ctypes.CDLL(str(target))
        except OSError:
            target.unlink()
            _compile(cmd, source, target)
            return ctypes.CDLL(str(target))
    except OSError:
        pass
    with tempfile.TemporaryDirectory(prefix="bayescap-") as private:  # loaded libraries stay mapped once deleted
        target = Path(private) / target.name
        _compile(cmd, source, target)
        return ctypes.CDLL(str(target))


def function(library: ctypes.CDLL, name: str) -> CFunction:
    """``name`` in ``library`` as a :class:`CFunction`."""
    return CFunction(ctypes.cast(getattr(library, name), ctypes.c_void_p).value, library)
