-- derive_none_appended.sql: derive_appended.sql for a file that appends no firm-year (touched_reworked.sql): the
-- empty temp table derived_flows with the columns and types derive_appended.sql gives it, for derive_rework.sql
-- to fill.
-- reads: (none)
-- writes: derived_flows
CREATE OR REPLACE TEMP TABLE derived_flows (uscc VARCHAR, period DATE, measure VARCHAR, value DOUBLE,
                                            span_months BIGINT);
