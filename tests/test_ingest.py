"""The per-file ingest as a pure task: waves, atomic staging folders, and a reference snapshot that validates
exactly as the warehouse it was taken from."""

from __future__ import annotations

import gc
import json
import threading
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from conftest import schema_warehouse
from test_validate import TODAY, code, frame

from flows.stages import ingest
from flows.stages.ingest import (
    WRITES,
    Parsed,
    ReadAhead,
    StagedFile,
    apply_staged,
    discard,
    ingest_file,
    read_landed,
    recheck,
    share_firms,
    snapshot_tables,
    stale,
    waves,
)
from flows.stages.s01_discover import InboxFile
from flows.stages.s02_land import land
from flows.stages.s05_validate import ValidationSession, forget_registry_keys, registry_keys_once
from flows.support.staging import (
    read_frame,
    read_relation,
    reference_connection,
    relation_batches,
    staged_path,
    write_atomically,
    write_frame,
    write_reference,
    write_relation,
)
from flows.support.warehouse import ROW_GROUP_ROWS

STEADY, SHIFTED, SPARSE, SHORT, OLD = (code(f"91320500MA1BBBBB{i}") for i in range(1, 6))
OLD_TAX_ID = "320500" + OLD[8:17]      # a 15-digit 税务登记号: division code + organisation code


def test_registries_are_validated_and_loaded_before_the_kinds_that_look_them_up():
    kinds = ["clusters", "firms", "firms", "platforms", "monthly", "monthly", "tax", "procurement", "digital", None]
    assert waves(kinds) == [[0], [1, 2, 3], [4, 5, 6, 7, 8, 9]]
    assert waves(["monthly", "tax"]) == [[0, 1]]
    # a file waits only for earlier files whose tables it reads: a firms file after a monthly one does not
    # change what the monthly file saw; a digital file after it reads core.firms
    assert waves(["monthly", "firms", "digital"]) == [[0, 1], [2]]


def test_two_files_share_firms_when_any_one_firm_is_in_both_wherever_it_stands():
    """Whether a backfilled file is checked on the cluster or by the night (flows.nightly._wave)."""
    mine = pl.Series([f"F{i:05d}" for i in range(5000)])
    assert share_firms(mine, pl.Series(["X1", "F04999", "X2"]))      # past the slice looked at first
    assert share_firms(mine, pl.Series(["F00000"]))
    assert share_firms(mine, None)                                   # not known (old identifiers): may
    assert not share_firms(mine, pl.Series(["F5000", "X"]))
    assert not share_firms(mine, pl.Series([], dtype=pl.Utf8))


def test_a_file_checked_on_the_cluster_is_stale_when_an_earlier_file_held_in_memory_loaded_one_of_its_firms(
        tmp_path):
    """A wave's first file is loaded from the frames held in memory (flows.nightly._wave): only its firms are kept
    for `stale`, which must see them as it sees a staged file's incoming relation."""
    folder = tmp_path / "00000002"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({"status": "staged", "old_codes": False}), encoding="utf-8")
    write_frame(pl.DataFrame({"uscc": ["F2", "F3"]}), staged_path(folder, "firms"))
    later = StagedFile(2, "monthly_2025-02.parquet", "monthly", folder, "staged")
    staged = staged_path(tmp_path, "incoming")
    write_relation(pl.DataFrame({"uscc": ["F9"], "output": [1.0]}), staged)
    held = pl.DataFrame({"uscc": ["F1", "F3"], "output": [1.0, 2.0]}).select("uscc").lazy()
    assert stale(later, {"core.firm_monthly": [pl.scan_ipc(staged), held]})
    assert not stale(later, {"core.firm_monthly": [pl.scan_ipc(staged)]})
    assert not stale(later, {"core.firm_monthly": [pl.DataFrame({"uscc": ["F1"]}).lazy()]})


def test_a_staged_relation_reads_back_as_the_arrow_batches_a_held_frame_is_bound_as(tmp_path):
    """A worker's staged relation is inserted as the frame one process holds is: the same values and the same
    ROW_GROUP_ROWS batches (not polars' chunks), read memory-mapped; a staged frame reads back equal. Held, text is
    bound as the frame's own string views (no copy), staged as large strings; DuckDB reads the same rows from both."""
    rows = ROW_GROUP_ROWS + 1_000
    # text longer than a view holds inline (12 bytes), and short
    frame = pl.concat([pl.DataFrame({"uscc": pl.int_range(lo, hi, eager=True).cast(pl.Utf8),
                                     "amount": pl.int_range(lo, hi, eager=True).cast(pl.Float64)})
                       .with_columns(pl.when(pl.col("amount") % 3 == 0).then(pl.col("uscc"))
                                     .otherwise(pl.concat_str(pl.lit("91320500MA苏州"), pl.col("uscc"))))
                       for lo, hi in ((0, 7), (7, rows))], rechunk=False)
    path = staged_path(tmp_path, "incoming")
    write_relation(frame, path)
    staged, held = read_relation(path), relation_batches(frame, views=True)
    assert staged.schema.field("uscc").type == pa.large_string() and held.schema.field("uscc").type == pa.string_view()
    assert staged.equals(held.cast(staged.schema))
    assert [b.num_rows for b in staged.to_batches()] == [b.num_rows for b in held.to_batches()] == [ROW_GROUP_ROWS,
                                                                                                     1_000]
    con = duckdb.connect()
    con.register("staged", staged)
    con.register("held", held)
    assert con.execute("SELECT (SELECT count(*) FROM (SELECT * FROM staged EXCEPT ALL SELECT * FROM held)), "
                       "(SELECT count(*) FROM (SELECT * FROM held EXCEPT ALL SELECT * FROM staged)), "
                       "(SELECT count(*) FROM held)").fetchone() == (0, 0, rows)
    write_frame(frame, staged_path(tmp_path, "parsed_frame"))
    assert read_frame(staged_path(tmp_path, "parsed_frame")).equals(frame)


def test_a_task_killed_while_writing_leaves_no_folder_that_counts(tmp_path):
    final = tmp_path / "run-1" / "00000007"

    def dies(tmp: Path) -> None:
        (tmp / "incoming.parquet").write_bytes(b"PAR1 half")
        raise MemoryError("killed")

    with pytest.raises(MemoryError):
        write_atomically(final, dies)
    assert not final.exists() and list(final.parent.iterdir()) == []
    (final.parent / "00000007.tmp-leftover").mkdir()     # what a SIGKILL mid-write leaves
    write_atomically(final, lambda tmp: (tmp / "meta.json").write_text("{}"))
    assert (final / "meta.json").read_text() == "{}"
    write_atomically(final, lambda tmp: (tmp / "meta.json").write_text("second try"))   # complete: kept
    assert (final / "meta.json").read_text() == "{}"


@pytest.mark.parametrize("held", [False, True], ids=["staged", "held in memory"])
def test_staged_rows_fill_whole_duckdb_row_groups_that_the_checkpoint_after_the_load_keeps(tmp_path, held):
    """Two files' staged rows, each inserted in its own transaction as the load does, fill DuckDB row groups (all
    full but each file's last: the staging row group size is DuckDB's), and the CHECKPOINT rewrites none of them.
    In polars' own cut (chunks of 100,000, 250,000 and 150,000 rows here), the second file's rows were merged at
    the checkpoint. Staged (a worker's) or held in memory (one process), a frame in chunks of any size is bound as
    batches of the same cut."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("CREATE TABLE procurement (buyer VARCHAR, amount DOUBLE)")
    rows = 500_000
    for n in range(2):
        frame = pl.concat([pl.DataFrame({"buyer": pl.int_range(lo, hi, eager=True).cast(pl.Utf8),
                                         "amount": pl.int_range(lo, hi, eager=True).cast(pl.Float64) / 8})
                           for lo, hi in ((0, 100_000), (100_000, 350_000), (350_000, rows))], rechunk=False)
        staged = staged_path(tmp_path, f"incoming-{n}")
        if not held:
            write_relation(frame, staged)
        con.register("incoming", relation_batches(frame, views=True) if held else read_relation(staged))
        con.execute("INSERT INTO procurement SELECT * FROM incoming")
        con.unregister("incoming")

    def row_groups() -> list[int]:
        return [n for (n,) in con.execute("SELECT max(count) FROM pragma_storage_info('procurement') "
                                          "WHERE column_id = 0 GROUP BY row_group_id ORDER BY row_group_id").fetchall()]

    written = row_groups()
    tail = rows - 4 * ROW_GROUP_ROWS
    assert written == [ROW_GROUP_ROWS] * 4 + [tail] + [ROW_GROUP_ROWS] * 4 + [tail]
    con.execute("CHECKPOINT")
    assert row_groups() == written
    assert con.execute("SELECT count(*), sum(amount) FROM procurement").fetchone() == (2 * rows, 2 * sum(
        range(rows)) / 8)   # eighths: the sum is exact in any order


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    """Firms whose history only the latest 12 non-null months of a measure give the right median for."""
    con = schema_warehouse()
    con.execute("INSERT INTO core.clusters (cluster_id, adcode) VALUES ('C1', '320500')")
    for firm in (STEADY, SHIFTED, SPARSE, SHORT, OLD):
        con.execute("INSERT INTO core.firms (uscc, cluster_id) VALUES (?, 'C1')", [firm])
    con.execute("INSERT INTO core.firm_identifiers (uscc, scheme, identifier) VALUES (?, 'tax_registration_15', ?)",
                [OLD, OLD_TAX_ID])
    rows = []
    for m in range(20):
        period = date(2023 + m // 12, m % 12 + 1, 1)
        rows += [(STEADY, period, 100.0, 90.0),
                 # ten old months in 元, ten recent in 万元: the median of the last 12 is ≈100, of all 500,050
                 (SHIFTED, period, 1e6 if m < 10 else 100.0, None),
                 # revenue stops after 11 months: its latest 12 non-null months are the first 11
                 (SPARSE, period, 100.0, (1e6 if m < 2 else 90.0) if m < 11 else None),
                 (OLD, period, 100.0, 90.0)]
    rows += [(SHORT, date(2024, m, 1), 100.0, 90.0) for m in (1, 2, 3)]
    con.executemany("INSERT INTO core.firm_monthly (uscc, period, span_months, output, revenue) "
                    "VALUES (?, ?, 1, ?, ?)", rows)
    return con


def test_the_reference_snapshot_validates_a_file_exactly_as_the_warehouse_does(warehouse, tmp_path):
    month = date(2025, 9, 1)
    incoming = frame("monthly", [
        {"uscc": STEADY, "period": month, "output": 1_000_000.0, "revenue": 95.0},     # 10⁴× its median
        {"uscc": SHIFTED, "period": month, "output": 1_000_000.0},                     # ditto (last 12 months)
        {"uscc": SPARSE, "period": month, "output": 100.0, "revenue": 900_000.0},      # revenue 10⁴×
        {"uscc": SHORT, "period": month, "output": 1_000_000.0},                       # too little history
        {"uscc": OLD_TAX_ID, "period": month, "output": 100.0, "revenue": 90.0},       # old identifier
        {"uscc": code("91320500MA1CCCCC9"), "period": month, "output": 1.0},           # not registered
    ])
    session = ValidationSession(today=TODAY)
    live = session.validate("monthly", incoming, "monthly_2025-09.csv", warehouse)
    folder = write_reference(warehouse, snapshot_tables({"monthly"}), tmp_path / "reference-2")
    with reference_connection(folder) as con:
        snap = session.validate("monthly", incoming, "monthly_2025-09.csv", con)
    quarantined = dict(zip(live.issues["_row"], live.issues["rule"], strict=True))
    assert quarantined == {2: "unit_suspect", 3: "unit_suspect", 4: "unit_suspect", 7: "unknown_firm"}
    assert live.warnings["rule"].to_list() == ["old_identifier"]
    for mine, theirs in ((snap.issues, live.issues), (snap.warnings, live.warnings), (snap.frame, live.frame),
                         (snap.results, live.results)):
        assert mine.equals(theirs)
    kept = pl.read_parquet(folder / "core.firm_monthly.parquet")     # the latest 12 months a firm has of each
    for measure in ("output", "revenue"):
        per_firm = kept.filter(pl.col(measure).is_not_null()).group_by("uscc").len()
        assert per_firm["len"].max() == 12


def test_a_nights_registry_keys_are_read_once_until_a_load_of_their_table_forgets_them(tmp_path):
    con = schema_warehouse(tmp_path / "cw.duckdb")
    con.execute("INSERT INTO core.clusters (cluster_id, adcode) VALUES ('C1', '320500')")
    con.execute("INSERT INTO core.firms (uscc, cluster_id) VALUES (?, 'C1')", [STEADY])
    new = code("91320500MA1CCCCC9")
    incoming = frame("monthly", [{"uscc": STEADY, "period": date(2025, 9, 1), "output": 100.0},
                                 {"uscc": new, "period": date(2025, 9, 1), "output": 100.0}])
    session = ValidationSession(today=TODAY)
    before = write_reference(con, snapshot_tables({"monthly"}), tmp_path / "reference-0")

    def unknown(con: duckdb.DuckDBPyConnection) -> list[int]:
        issues = session.validate("monthly", incoming, "monthly_2025-09.csv", con).issues
        return issues.filter(pl.col("rule") == "unknown_firm")["_row"].to_list()

    with registry_keys_once(con) as night:
        assert unknown(con) == [3]
        assert ("core.firms", "uscc") in night.keys
        con.execute("INSERT INTO core.firms (uscc, cluster_id) VALUES (?, 'C1')", [new])   # as a firms load
        forget_registry_keys(WRITES["monthly"])         # a monthly load leaves the registry as it was read
        assert unknown(con) == [3]
        forget_registry_keys(WRITES["firms"])
        assert unknown(con) == []
        with reference_connection(before) as snap:      # a snapshot reads its own tables, never the night's keys
            assert unknown(snap) == [3]
    con.execute("DELETE FROM core.firms WHERE uscc = ?", [new])
    assert unknown(con) == [3]                          # after the night nothing is kept


def test_loading_a_registry_file_forgets_the_keys_read_of_its_tables_even_when_it_failed(tmp_path):
    con = schema_warehouse(tmp_path / "cw.duckdb")
    folder = tmp_path / "staged"
    folder.mkdir()
    (folder / "meta.json").write_text('{"status": "failed", "reason": "bad", "message": "unreadable"}')
    with registry_keys_once(con) as night:
        night.keys = {("core.firms", "uscc"): pl.Series("k", [STEADY]),
                      ("core.clusters", "cluster_id"): pl.Series("k", ["C1"])}
        apply_staged(con, 1, StagedFile(1, "firms.csv", "firms", folder, "failed"), ValidationSession())
        assert list(night.keys) == [("core.clusters", "cluster_id")]


def test_a_file_whose_rows_were_held_in_another_process_memory_is_refused_not_loaded_as_empty(tmp_path):
    """A staging folder whose rows stayed in the memory of the process that read the file (hold) has no Parquet
    to load: without the frames its load stops the night, naming the file, instead of loading nothing."""
    con = schema_warehouse(tmp_path / "cw.duckdb")
    inbox = tmp_path / "tax_2025-09.csv"
    inbox.write_text(f"统一社会信用代码,统计期,实缴税金\n{STEADY},2025-09,10\n", encoding="utf-8")
    [landed] = land([InboxFile(inbox, "tax")], tmp_path / "landing", con, 1)
    staged = ingest_file(landed, 1, con, tmp_path / "staging", TODAY, 1000, hold=True)
    assert staged.held is not None and staged.status == "staged"
    with pytest.raises(ValueError, match="tax_2025-09.csv: its load's frames were held"):
        apply_staged(con, 1, StagedFile(staged.file_id, staged.name, staged.kind, staged.folder, staged.status),
                     ValidationSession(today=TODAY))
    assert con.execute("SELECT status FROM meta.files").fetchall() == [("landed",)]
    with pytest.raises(ValueError, match="hold keeps a file's load in memory"):
        ingest_file(landed, 1, tmp_path / "reference-0", tmp_path / "staging-2", TODAY, 1000, hold=True)


def test_run_and_serve_take_a_worker_count_or_a_scheduler_address_but_not_both(capsys):
    from flows.cli import parser

    for command in ("run", "serve"):
        assert parser().parse_args([command, "--workers", "3"]).workers == 3
        args = parser().parse_args([command, "--dask", "tcp://10.0.0.5:8786"])
        assert (args.dask, args.workers) == ("tcp://10.0.0.5:8786", 0)
        for bad in (["--workers", "0"], ["--workers", "two"], ["--dask", "10.0.0.5"],
                    ["--workers", "2", "--dask", "tcp://10.0.0.5:8786"]):
            with pytest.raises(SystemExit) as exit_:
                parser().parse_args([command, *bad])
            assert exit_.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_without_workers_or_an_address_the_night_imports_nothing_of_dask():
    import subprocess
    import sys

    code_ = ("import sys; from flows.nightly import ingest_runner, local_workers\n"
             "with local_workers(0) as local: assert local is None\n"
             "with ingest_runner(None, None) as runner: assert runner is None\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'prefect_dask')))")
    out = subprocess.run([sys.executable, "-c", code_], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_file_loaded_from_frames_held_in_memory_writes_what_its_staged_relations_write(tmp_path):
    """One process keeps a file's load in memory (ingest_file's hold), and so does the night's process for a file a
    Dask worker only read and it checks itself (recheck); a file a worker checked is loaded from its staged files.
    All three give the same core rows, history, quarantine (originals and keys), row flags, header report,
    validation results and meta.files; a held file stages no relation, and its firms are kept for
    `stale` as a staged file's are, after its staged folders (the first try's too) are discarded, without keeping
    a staged file mapped."""
    inbox = tmp_path / "monthly_2025-09.csv"
    unknown = code("91320500MA1CCCCC9")
    inbox.write_text("统一社会信用代码,统计期,工业总产值（万元）,营业收入,工业增加值,从业人员平均人数\n"
                     f"{STEADY},2025-09,\"1,200.5\",1000,80,12\n"
                     f"{unknown},2025-09,300,250,80,3\n"          # not in the registry: quarantined
                     f"{SHIFTED},2025-13,300,250,80,3\n"          # no such month: quarantined
                     f"{SPARSE},2025-09,300,250,-5,3\n",          # a negative value added: loaded, flagged
                     encoding="utf-8")
    tables = ("core.firm_monthly", "history.reported_rows", "quarantine.rows", "meta.row_flags", "meta.file_columns",
              "meta.validation_results", "meta.files")
    written = {}
    for mode in ("staged", "held", "rechecked"):
        con = schema_warehouse(tmp_path / f"cw-{mode}.duckdb")
        con.execute("INSERT INTO core.clusters (cluster_id, adcode) VALUES ('C1', '320500')")
        for firm in (STEADY, SHIFTED, SPARSE):
            con.execute("INSERT INTO core.firms (uscc, cluster_id) VALUES (?, 'C1')", [firm])
        store = tmp_path / f"landing-{mode}"
        [landed] = land([InboxFile(inbox, "monthly")], store, con, 1)
        staging = store.parent / f"staging-{mode}"
        if mode == "rechecked":
            read = ingest_file(landed, 1, None, staging, TODAY, 1000)      # what a worker stages: parsed only
            assert read.status == "parsed" and read.held is None
            staged = recheck(read, landed, 1, con, TODAY, 1000)
        else:
            staged = ingest_file(landed, 1, con, staging, TODAY, 1000, hold=mode == "held")
        assert (staged.held is not None) == (mode != "staged")
        assert staged_path(staged.folder, "incoming").exists() == (mode == "staged")
        touched: dict[str, list[pl.LazyFrame]] = {}
        outcome = apply_staged(con, 1, staged, ValidationSession(today=TODAY), touched)
        assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 2, 2)
        discard(staged)     # what the night does once a file is loaded: its folders go, the firms stay for `stale`
        assert not any(staging.iterdir())
        assert sorted(touched["core.firm_monthly"][0].collect()["uscc"]) == sorted([STEADY, SPARSE])
        del staged, outcome
        gc.collect()
        # ... in buffers of their own: a rechecked file's held rows come from its parsed frames, memory-mapped, and
        # a column of them kept for `stale` kept the whole deleted file resident to the end of the wave
        assert not [line for line in Path("/proc/self/maps").read_text().splitlines() if str(staging) in line], mode
        written[mode] = {t: _rows(con, t) for t in tables}
    for mode in ("held", "rechecked"):
        for t in tables:
            assert written[mode][t] == written["staged"][t], (mode, t)
    assert written["held"]["meta.row_flags"] and written["held"]["quarantine.rows"]


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """`table`'s rows, sorted, without the columns that differ between two loads of the same file only by where or
    when they ran (timestamps, the landed path)."""
    schema, name = table.split(".")
    columns = [c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "AND data_type NOT LIKE 'TIMESTAMP%' AND column_name <> 'landed_path' ORDER BY ordinal_position",
        [schema, name]).fetchall()]
    return con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()


def test_the_next_file_is_read_in_a_thread_while_one_is_loaded_only_when_both_fit_the_read_ahead_limit(
        tmp_path, monkeypatch):
    """One process reads file k+1 beside the check and load of file k (ReadAhead), when the two hold at most the
    limit on disk: the read is the same as reading it then, and a failed read is the file's failure, not the
    night's."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    texts = {"monthly_2025-09.csv": f"统一社会信用代码,统计期,工业总产值（万元）\n{STEADY},2025-09,100\n",
             "monthly_2025-10.csv": f"统一社会信用代码,统计期,工业总产值（万元）\n{STEADY},2025-10,120\n",
             "tax_2025-10.csv": "这不是表格\n" * 20}     # unreadable, and larger than a monthly file
    for name, text in texts.items():
        (inbox / name).write_text(text, encoding="utf-8")
    con = schema_warehouse(tmp_path / "cw.duckdb")
    landed = land([InboxFile(inbox / name, name.split("_")[0]) for name in texts], tmp_path / "landing", con, 1)
    sizes = [f.path.stat().st_size for f in landed]
    where: list[tuple[str, str]] = []

    def recorded(file):
        where.append((file.name, threading.current_thread().name))
        return read_landed(file)

    monkeypatch.setattr(ingest, "read_landed", recorded)
    for limit_mb, ahead in (((sizes[0] + sizes[1]) / 1e6, {"monthly_2025-10.csv"}),
                            (max(sizes) * 2 / 1e6, {"monthly_2025-10.csv", "tax_2025-10.csv"}),
                            (min(sizes) / 1e6, set())):
        where.clear()
        reads = ReadAhead(landed, limit_mb=limit_mb)
        try:
            got = [reads.read(file) for file in landed]
        finally:
            reads.close()
        assert {name for name, thread in where if thread.startswith("read-ahead")} == ahead
        assert [name for name, _ in where] == list(texts)      # each file read once, in order
        for file, parsed in zip(landed[:2], got[:2], strict=True):
            assert isinstance(parsed, Parsed)
            assert parsed.frame.equals(read_landed(file).frame)
        assert got[2]["status"] == "failed" and got[2]["message"]
