-- 0006_reported_rows.sql: the reported values of monthly-statistics and tax files are stored as delivered — one row
-- per source row (firm, month, basis, file) with a column per measure, in history.reported_rows — instead of one row
-- per measure: a monthly file's load wrote 7 rows per source row (3.4 M for a nation file, ≈ 1.9 CPU-s each), now 1.
-- history.reported_values stays, as the view of the same values in the long form (one row per firm, period and
-- measure, empty cells skipped), so what reads it (derive_flows.sql, derive_rework.sql, analysts) is unchanged.
-- An existing warehouse's long rows are pivoted into reported_rows (a source row's measures share its kind, firm,
-- period, basis, file and row number).
-- reads: history.reported_values
-- writes: history.reported_rows, history.reported_values

CREATE TABLE history.reported_rows (
    kind        VARCHAR,   -- monthly | tax
    uscc        VARCHAR,
    period      DATE,      -- the month the report ends in
    basis       VARCHAR,   -- month (当月) | ytd (累计)
    output      DOUBLE,
    value_added DOUBLE,
    revenue     DOUBLE,
    profit      DOUBLE,
    employees   DOUBLE,
    energy      DOUBLE,
    rd_expense  DOUBLE,
    tax_paid    DOUBLE,
    file_id     INTEGER,
    row_number  BIGINT
);

INSERT INTO history.reported_rows
SELECT kind, uscc, period, basis,
       any_value(value) FILTER (WHERE measure = 'output')      AS output,
       any_value(value) FILTER (WHERE measure = 'value_added') AS value_added,
       any_value(value) FILTER (WHERE measure = 'revenue')     AS revenue,
       any_value(value) FILTER (WHERE measure = 'profit')      AS profit,
       any_value(value) FILTER (WHERE measure = 'employees')   AS employees,
       any_value(value) FILTER (WHERE measure = 'energy')      AS energy,
       any_value(value) FILTER (WHERE measure = 'rd_expense')  AS rd_expense,
       any_value(value) FILTER (WHERE measure = 'tax_paid')    AS tax_paid,
       file_id, row_number
FROM history.reported_values
GROUP BY kind, uscc, period, basis, file_id, row_number
ORDER BY file_id, row_number;

DROP TABLE history.reported_values;

CREATE VIEW history.reported_values AS
SELECT kind, uscc, period, basis, measure, value, file_id, row_number
FROM (UNPIVOT history.reported_rows
      ON output, value_added, revenue, profit, employees, energy, rd_expense, tax_paid
      INTO NAME measure VALUE value);

COMMENT ON TABLE history.reported_rows IS '报送原值（差分前），每个来源行一行 / every reported row before differencing, one row per source row, a column per measure, with its file';
COMMENT ON COLUMN history.reported_rows.kind IS '数据类别 / source kind (monthly, tax)';
COMMENT ON COLUMN history.reported_rows.basis IS '口径 / basis: month (当月) or ytd (累计)';
COMMENT ON COLUMN history.reported_rows.tax_paid IS '实缴税金（万元） / tax paid';
COMMENT ON COLUMN history.reported_rows.row_number IS '来源文件行号 / row number in the source file';
COMMENT ON VIEW history.reported_values IS '报送原值（差分前），每个指标一行（history.reported_rows 的长表视图）/ every reported value before differencing, one row per measure, with its file (the long view of history.reported_rows)';
COMMENT ON COLUMN history.reported_values.kind IS '数据类别 / source kind (monthly, tax)';
COMMENT ON COLUMN history.reported_values.basis IS '口径 / basis: month (当月) or ytd (累计)';
COMMENT ON COLUMN history.reported_values.measure IS '指标列 / measure (canonical column)';
COMMENT ON COLUMN history.reported_values.value IS '报送值（标准单位）/ reported value in the canonical unit';
COMMENT ON COLUMN history.reported_values.row_number IS '来源文件行号 / row number in the source file';
