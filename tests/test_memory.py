"""polars' allocator options, set by `import flows` before polars loads (flows.support.memory)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from flows.support import memory

PROBE = "import flows, polars as pl; pl.DataFrame({'a': [1]})"


def _decay(env: dict[str, str], code: str = PROBE) -> tuple[int, str]:
    """jemalloc's dirty_decay_ms in a fresh process running `code`, from its statistics printed at exit."""
    base = {k: v for k, v in os.environ.items()     # as from an operator's shell: no clusterwatch process above
            if k not in (memory.VARIABLE, memory.OPERATOR, "CLUSTERWATCH_POLARS_DIRTY_DECAY_MS")}
    conf = env.pop("_RJEM_MALLOC_CONF", "")
    base["_RJEM_MALLOC_CONF"] = f"stats_print:true,{conf}" if conf else "stats_print:true"
    out = subprocess.run([sys.executable, "-c", code], env=base | env, capture_output=True, text=True, check=True)
    return int(re.search(r"opt\.dirty_decay_ms: (-?\d+)", out.stderr).group(1)), out.stderr


def test_importing_flows_gives_polars_the_configured_page_decay() -> None:
    assert _decay({})[0] == 10000
    assert _decay({"CLUSTERWATCH_POLARS_DIRTY_DECAY_MS": "3000"})[0] == 3000


def test_an_operators_own_allocator_options_still_decide() -> None:
    assert _decay({"_RJEM_MALLOC_CONF": "dirty_decay_ms:800"})[0] == 800


def test_polars_imported_first_keeps_its_own_decay_and_says_so() -> None:
    decay, err = _decay({}, "import polars as pl, flows; pl.DataFrame({'a': [1]})")
    assert decay == 500
    assert "CLUSTERWATCH_POLARS_DIRTY_DECAY_MS is not applied" in err


def test_a_process_the_night_starts_sets_its_own_decay_and_keeps_the_operators_options(tmp_path) -> None:
    """A child inherits `_RJEM_MALLOC_CONF` as its parent rewrote it; a child that sets another decay (a local Dask
    worker: flows.support.cluster) gets that one, and the operator's own options (flows.support.memory.OPERATOR)
    still come last and decide."""
    child = tmp_path / "child.py"
    child.write_text("from flows.support.memory import configure_polars_allocator\n"
                     "configure_polars_allocator(-1)\n"
                     "import polars as pl\n"
                     "pl.DataFrame({'a': [1]})\n", encoding="utf-8")
    parent = f"import flows, subprocess, sys; subprocess.run([sys.executable, {str(child)!r}], check=True)"
    _, err = _decay({"CLUSTERWATCH_POLARS_DIRTY_DECAY_MS": "3000"}, parent)
    assert re.findall(r"opt\.dirty_decay_ms: (-?\d+)", err) == ["-1"]     # the child's; the parent loaded no polars
    _, err = _decay({"CLUSTERWATCH_POLARS_DIRTY_DECAY_MS": "3000", "_RJEM_MALLOC_CONF": "dirty_decay_ms:800"}, parent)
    assert re.findall(r"opt\.dirty_decay_ms: (-?\d+)", err) == ["800"]
