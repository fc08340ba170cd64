-- comments.sql: Chinese and English descriptions of the tables and of the columns that are not source
-- columns. Source columns (uscc, output, …) take their comments from the input contract
-- (flows/support/contract.py) in warehouse.comment_from_contract, so each column is described once.

COMMENT ON TABLE meta.schemas IS '各模式说明 / what each schema holds (DuckDB cannot comment on schemas)';
COMMENT ON COLUMN meta.schemas.schema_name IS '模式名 / schema name';
COMMENT ON COLUMN meta.schemas.comment IS '说明 / description';

COMMENT ON TABLE meta.runs IS '每次夜间运行 / one row per nightly run';
COMMENT ON COLUMN meta.runs.run_id IS '运行编号 / run id';
COMMENT ON COLUMN meta.runs.started_at IS '开始时间 / started at';
COMMENT ON COLUMN meta.runs.finished_at IS '结束时间 / finished at';
COMMENT ON COLUMN meta.runs.inbox IS '收件目录 / inbox folder';
COMMENT ON COLUMN meta.runs.files_seen IS '收件目录中的文件数 / files in the inbox';
COMMENT ON COLUMN meta.runs.files_new IS '新文件数 / files not seen before';
COMMENT ON COLUMN meta.runs.rows_loaded IS '入库行数 / rows loaded';
COMMENT ON COLUMN meta.runs.rows_quarantined IS '隔离行数 / rows quarantined';
COMMENT ON COLUMN meta.runs.status IS '状态 / status (running, succeeded)';

COMMENT ON TABLE meta.files IS '文件登记：每个落地文件一行 / file registry: one row per landed file';
COMMENT ON COLUMN meta.files.file_id IS '文件编号 / file id';
COMMENT ON COLUMN meta.files.file_name IS '文件名 / file name as delivered';
COMMENT ON COLUMN meta.files.kind IS '数据类别（文件名前缀）/ source kind (file-name prefix)';
COMMENT ON COLUMN meta.files.sha256 IS '内容哈希 / SHA-256 of the bytes; the same bytes are never loaded twice';
COMMENT ON COLUMN meta.files.size_bytes IS '文件大小（字节）/ size in bytes';
COMMENT ON COLUMN meta.files.arrived_at IS '到达时间 / arrival (file modification) time';
COMMENT ON COLUMN meta.files.landed_path IS '落地副本路径 / path of the unchanged copy in the landing store';
COMMENT ON COLUMN meta.files.run_id IS '落地的运行 / run that landed the file';
COMMENT ON COLUMN meta.files.status IS '状态 / status: landed, loaded, failed';
COMMENT ON COLUMN meta.files.reason IS '失败原因 / reason the file failed';
COMMENT ON COLUMN meta.files.encoding IS '识别的编码 / detected text encoding';
COMMENT ON COLUMN meta.files.header_map IS '表头映射 / source header → canonical column (JSON)';
COMMENT ON COLUMN meta.files.rows_in IS '数据行数 / data rows in the file';
COMMENT ON COLUMN meta.files.rows_loaded IS '入库行数 / rows loaded into core';
COMMENT ON COLUMN meta.files.rows_quarantined IS '隔离行数 / rows quarantined (rows_in = rows_loaded + rows_quarantined)';
COMMENT ON COLUMN meta.files.loaded_at IS '处理完成时间 / processed at';

COMMENT ON TABLE meta.changes IS '每次运行改动的月份 / months each run changed (NULL: a registry changed)';
COMMENT ON COLUMN meta.changes.run_id IS '运行编号 / run id';
COMMENT ON COLUMN meta.changes.kind IS '数据类别 / source kind';
COMMENT ON COLUMN meta.changes.period IS '改动的月份 / month changed (first day)';

COMMENT ON TABLE meta.row_flags IS '已入库但触发警告规则的行 / loaded rows that broke a warning-level rule';
COMMENT ON COLUMN meta.row_flags.file_id IS '文件编号 / file id';
COMMENT ON COLUMN meta.row_flags.row_number IS '文件中的行号 / row number in the file';
COMMENT ON COLUMN meta.row_flags.column_name IS '列 / column';
COMMENT ON COLUMN meta.row_flags.value IS '原值 / value';
COMMENT ON COLUMN meta.row_flags.rule IS '规则 / rule';
COMMENT ON COLUMN meta.row_flags.message IS '说明（中文）/ message (Chinese)';
COMMENT ON COLUMN meta.row_flags.message_en IS '说明（英文）/ message (English)';

COMMENT ON TABLE quarantine.rows IS '隔离行：每个被拒绝的行一条，保留原值 / one row per rejected row, with its original values';
COMMENT ON COLUMN quarantine.rows.file_id IS '文件编号 / file id';
COMMENT ON COLUMN quarantine.rows.file_name IS '文件名 / file name';
COMMENT ON COLUMN quarantine.rows.kind IS '数据类别 / source kind';
COMMENT ON COLUMN quarantine.rows.row_number IS '文件中的行号（打开文件看到的行）/ row number as seen when opening the file';
COMMENT ON COLUMN quarantine.rows.column_name IS '出错的列 / column at fault';
COMMENT ON COLUMN quarantine.rows.value IS '出错的原值 / offending value';
COMMENT ON COLUMN quarantine.rows.rule IS '规则代码 / rule code';
COMMENT ON COLUMN quarantine.rows.severity IS '严重程度 / severity (critical)';
COMMENT ON COLUMN quarantine.rows.message IS '说明（中文）/ message (Chinese)';
COMMENT ON COLUMN quarantine.rows.message_en IS '说明（英文）/ message (English)';
COMMENT ON COLUMN quarantine.rows.original IS '原始行（JSON）/ the source row as delivered (JSON)';
COMMENT ON COLUMN quarantine.rows.row_key IS '标准键 / canonical key, lets a revision resolve the row';
COMMENT ON COLUMN quarantine.rows.status IS '状态 / open, or resolved by a later revision';
COMMENT ON COLUMN quarantine.rows.resolved_by_file_id IS '更正该行的文件 / file whose revision resolved the row';
COMMENT ON COLUMN quarantine.rows.quarantined_at IS '隔离时间 / quarantined at';

COMMENT ON TABLE core.clusters IS '集群名录（当前）/ cluster registry, current rows';
COMMENT ON TABLE core.firms IS '企业名录（当前）/ firm registry, current rows';
COMMENT ON TABLE core.platforms IS '创新平台（当前）/ innovation platforms, current rows';
COMMENT ON TABLE core.firm_monthly IS '企业月度数据（万元；累计已差分）/ firm monthly facts in 万元, year-to-date reports differenced';
COMMENT ON TABLE core.tax IS '企业月度实缴税金（万元）/ firm monthly tax paid in 万元';
COMMENT ON TABLE core.procurement IS '企业采购明细（万元，当前版本）/ procurement rows in 万元, current version';
COMMENT ON TABLE core.digital_surveys IS '数字化转型调查 / digital-transformation survey answers';
COMMENT ON TABLE history.clusters IS '集群名录各版本 / every version of cluster registry rows';
COMMENT ON TABLE history.firms IS '企业名录各版本 / every version of firm registry rows';
COMMENT ON TABLE history.platforms IS '创新平台各版本 / every version of platform rows';
COMMENT ON TABLE history.digital_surveys IS '调查各版本 / every version of survey answers';
COMMENT ON TABLE history.procurement_superseded IS '被后续文件替换的采购行 / procurement rows replaced by a later file';
COMMENT ON TABLE history.reported_values IS '报送原值（差分前）/ every reported value before differencing, with its file';

COMMENT ON COLUMN core.firm_monthly.span_months IS '覆盖月数（1–2月合报为2）/ months the record covers (2 for a 1–2月 report)';
COMMENT ON COLUMN core.tax.span_months IS '覆盖月数 / months the record covers';
COMMENT ON COLUMN core.procurement.row_number IS '来源文件行号 / row number in the source file';
COMMENT ON COLUMN history.procurement_superseded.row_number IS '来源文件行号 / row number in the source file';
COMMENT ON COLUMN history.procurement_superseded.superseded_by IS '替换它的文件 / file that replaced the row';
COMMENT ON COLUMN history.reported_values.kind IS '数据类别 / source kind (monthly, tax)';
COMMENT ON COLUMN history.reported_values.basis IS '口径 / basis: month (当月) or ytd (累计)';
COMMENT ON COLUMN history.reported_values.measure IS '指标列 / measure (canonical column)';
COMMENT ON COLUMN history.reported_values.value IS '报送值（标准单位）/ reported value in the canonical unit';
COMMENT ON COLUMN history.reported_values.row_number IS '来源文件行号 / row number in the source file';

COMMENT ON TABLE core.firm_identifiers IS '企业旧代码对照：名录中登记的15位税务登记号 / old identifiers of registered firms (15-digit tax registration numbers from the registry)';
COMMENT ON COLUMN core.firm_identifiers.uscc IS '统一社会信用代码 / unified social credit code';
COMMENT ON COLUMN core.firm_identifiers.scheme IS '代码体系 / identifier scheme (tax_registration_15)';
COMMENT ON COLUMN core.firm_identifiers.identifier IS '旧代码 / the old identifier';
COMMENT ON COLUMN core.firm_identifiers.file_id IS '来源文件编号 / id of the registry file (meta.files)';
COMMENT ON TABLE meta.file_columns IS '表头报告：每个文件每一列的去向（字段、口径、单位、是否读取及原因） / header report: what became of every column of every file';
COMMENT ON COLUMN meta.file_columns.file_id IS '文件编号 / file id (meta.files)';
COMMENT ON COLUMN meta.file_columns.position IS '列序号（从1起） / column position, 1-based';
COMMENT ON COLUMN meta.file_columns.source_header IS '原表头（两级表头写作“指标 / 子列”） / header as written (two-level: `indicator / sub-column`)';
COMMENT ON COLUMN meta.file_columns.column_name IS '对应的标准字段（无则为空） / canonical column, NULL when none';
COMMENT ON COLUMN meta.file_columns.basis IS '口径：month 本月 / ytd 累计 / compare 对照列 / basis of the column';
COMMENT ON COLUMN meta.file_columns.unit IS '原数据单位 / unit of the delivered values';
COMMENT ON COLUMN meta.file_columns.unit_source IS '单位来源：header 表头 / units_row 单位行 / title_line 标题行 / config 配置 / contract_default 未注明（按标准单位） / where the unit was stated';
COMMENT ON COLUMN meta.file_columns.factor IS '换算系数（乘以后为标准单位） / factor to the canonical unit';
COMMENT ON COLUMN meta.file_columns.status IS 'loaded 已读取 / cross_check 仅用于核对 / not_loaded 未读取 / ignored 忽略 / what became of the column';
COMMENT ON COLUMN meta.file_columns.note IS '原因说明 / why';
