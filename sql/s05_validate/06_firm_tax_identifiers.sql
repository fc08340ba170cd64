-- firm_tax_identifiers.sql: each registered firm's old 15-digit 税务登记号, for resolving fact files that still
-- identify a unit by it (flows/stages/s05_validate.py resolve_identifiers).
-- reads: core.firm_identifiers
-- writes: (none)

SELECT uscc, identifier
FROM core.firm_identifiers
WHERE scheme = 'tax_registration_15';
