-- answers: per route, the 調定額, 収入額, 未納額 and 過誤納額 of a 年度 as posted by the day $as_of, summed over every 通知書番号 and 期別 (the figures a 収納率 is computed from)
-- basis: 地方自治法第231条 and 地方自治法施行令第154条 (調定); 地方税法第17条 (過誤納金); bookkeeping
-- params: $fiscal_year, $as_of
-- 未納 and 過誤納 are summed per 期別 first: an overpayment of one 期 does not pay another until it is 充当
-- (an appropriation row), so the route's 未納 is not 調定 − 収入 when some 期 are overpaid.
WITH per_period AS (
    SELECT
        route,
        sum(CASE WHEN entry_kind IN ('assessment', 'increase') THEN amount
                 WHEN entry_kind = 'decrease' THEN -amount ELSE 0 END) AS charged,
        sum(CASE WHEN entry_kind IN ('payment', 'appropriation_in') THEN amount
                 WHEN entry_kind IN ('refund', 'appropriation_out') THEN -amount ELSE 0 END) AS received
    FROM ledger
    WHERE fiscal_year = $fiscal_year AND posted_on <= $as_of
    GROUP BY atena_no, route, payer, notice_no, period
)
SELECT
    route,
    count(*)::BIGINT AS periods,
    sum(charged)::BIGINT AS charged,
    sum(received)::BIGINT AS received,
    sum(greatest(charged - received, 0))::BIGINT AS unpaid,
    sum(greatest(received - charged, 0))::BIGINT AS overpaid
FROM per_period
GROUP BY route
ORDER BY route
