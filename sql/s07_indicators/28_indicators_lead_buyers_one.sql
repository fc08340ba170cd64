-- indicators_lead_buyers_one.sql: lead_buyers for a night with one target period (flows/stages/s07_indicators.py
-- runs it instead of indicators_lead_buyers.sql, whose counts it gives): per lead the number of distinct firms that
-- bought from it in the TTM window. With one target a key has one lead row, so the window's rows are joined to the
-- leads directly (no semi join on the leads' keys first: that probed the window's 28 M nation rows, and the 5 M it
-- kept were then joined again) and the distinct (lead, firm) pairs are counted. Nation night (2026-01 on the night-2
-- warehouse), the statement 2.29-2.47 -> 1.94-2.12 CPU-s. The one target is the window's last month (bounds.hi) and its
-- first is bounds.lo_ttm, so the rows are the window's by the scan's range alone, and the distinct pairs are grouped
-- without the period (constant): nation 2025-12, 4.8 M pairs, 1.9-2.2 -> 1.6-1.7 CPU-s.
-- reads: bounds, lead_rank, work.chain_supplier_buyer
-- writes: lead_buyers

CREATE OR REPLACE TEMP TABLE lead_buyers AS
SELECT cidx, sid, (SELECT hi FROM bounds) AS period, count(*) AS n_buying_firms
FROM (
    SELECT DISTINCT l.cidx, l.sid, b.fid
    FROM lead_rank l
    JOIN work.chain_supplier_buyer b ON b.cidx = l.cidx AND b.sid = l.sid
    WHERE b.period BETWEEN (SELECT lo_ttm FROM bounds) AND (SELECT hi FROM bounds)
)
GROUP BY cidx, sid;
