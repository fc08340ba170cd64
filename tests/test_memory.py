"""polars' allocator options, set by `import flows` before polars loads (flows.support.memory)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

PROBE = "import flows, polars as pl; pl.DataFrame({'a': [1]})"


def _decay(env: dict[str, str], code: str = PROBE) -> tuple[int, str]:
    """jemalloc's dirty_decay_ms in a fresh process running `code`, from its statistics printed at exit."""
    base = {k: v for k, v in os.environ.items() if k not in ("_RJEM_MALLOC_CONF", "CLUSTERWATCH_POLARS_DIRTY_DECAY_MS")}
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
