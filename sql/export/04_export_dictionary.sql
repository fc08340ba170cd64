-- export_dictionary.sql: the indicator dictionary as the warehouse holds it, for the dictionary sheet of an
-- Excel export.
-- reads: mart.indicator_dictionary
-- writes: (none)

SELECT indicator, name_zh, name_en, unit, direction, time_window, definition
FROM mart.indicator_dictionary
ORDER BY ordinal;
