-- load_firms.sql: upsert firm registry rows (view `incoming`); every version kept in history.
-- reads: core.firms, incoming
-- writes: core.firm_identifiers, core.firms, history.firms, meta.changes
-- registered: incoming
INSERT OR REPLACE INTO core.firms (uscc, firm_name, cluster_id, adcode, chain_segment, above_scale, chain_leader,
                                    srdi_level, land_area, established, file_id)
SELECT uscc, firm_name, cluster_id, adcode, chain_segment, above_scale, chain_leader, srdi_level, land_area,
       established, $file_id
FROM incoming;

INSERT INTO history.firms BY NAME SELECT * FROM core.firms WHERE file_id = $file_id;

INSERT INTO meta.changes (run_id, kind, period) VALUES ($run_id, 'firms', NULL);

INSERT OR IGNORE INTO core.firm_identifiers (uscc, scheme, identifier, file_id)
SELECT uscc, 'tax_registration_15', old_tax_id, $file_id FROM incoming WHERE old_tax_id IS NOT NULL;
