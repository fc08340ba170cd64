-- chain_leads.sql: the ranked supply leads of the clusters in $clusters in month $period (internal edition), one
-- query for the whole section, with the cells the lead table shows already written as the table writes them
-- (600 clusters × 100 leads at nation scale: formatting them row by row in Python, after turning each number
-- into a Python object, cost ≈ 0.35 of the section's ≈ 0.9 CPU-s; fetched as Arrow, s11_chain.leads_by_cluster).
-- The numbers are written by DuckDB's format(), which is correctly rounded as Python's format() is: the same
-- text as Python's "{:,.1f}", "{:.1%}" (x × 100 as "{:.1f}" and "%") and "{:+.1%}" for every finite value below
-- 1e30 and ±inf (tests/test_chain_leads_format.py); NaN is written as Python writes it (fmt would write the sign
-- of a negative NaN), and a value beyond 1e30 or a missing amount or share is refused rather than written
-- differently. $sep joins the segments supplied, $new marks a lead with no purchases a year earlier, $na a
-- missing change.
-- reads: mart.supply_leads
-- writes: (none)

SELECT cluster_id, rank, supplier_name AS name, coalesce(supplier_uscc, '') AS uscc, province, city,
       CASE WHEN isnan(amount_ttm) THEN 'nan'
            WHEN isinf(amount_ttm) OR abs(amount_ttm) < 1e30 THEN format('{:,.1f}', amount_ttm)
            ELSE error(concat('mart.supply_leads: amount_ttm ', amount_ttm, ' of ', cluster_id, ' rank ', rank,
                              ' cannot be written')) END AS amount,
       CASE WHEN isnan(share_of_purchases) THEN 'nan%'
            WHEN isinf(share_of_purchases) OR abs(share_of_purchases) < 1e28
                THEN format('{:.1f}%', share_of_purchases * 100)
            ELSE error(concat('mart.supply_leads: share_of_purchases ', share_of_purchases, ' of ', cluster_id,
                              ' rank ', rank, ' cannot be written')) END AS share,
       n_buying_firms AS buyers,
       coalesce(array_to_string(segments, $sep), '') AS supplies,
       CASE WHEN amount_prev_ttm = 0 THEN $new
            WHEN change_rate IS NULL THEN $na
            WHEN isnan(change_rate) THEN '+nan%'
            WHEN isinf(change_rate) OR abs(change_rate) < 1e28 THEN format('{:+.1f}%', change_rate * 100)
            ELSE error(concat('mart.supply_leads: change_rate ', change_rate, ' of ', cluster_id, ' rank ', rank,
                              ' cannot be written')) END AS change
FROM mart.supply_leads WHERE period = $period AND list_contains($clusters, cluster_id)
ORDER BY cluster_id, rank;
