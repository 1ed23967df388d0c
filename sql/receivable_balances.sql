-- answers: per 通知書番号 and 期別, what was charged (調定額), what came in (収入額) and what is unpaid (未納額) or paid too much (過誤納額), as posted by the day $as_of
-- basis: 地方自治法第231条 and 地方自治法施行令第154条 (歳入の調定: every receivable is a 調定 of its own, changed only by 増額・減額の調定); 地方税法第17条 (過誤納金)
-- params: $fiscal_year, $as_of
-- The ledger is append-only: a 賦課更正 adds an increase or decrease row, a refund or a 充当 a row of its
-- own, so every balance of any past day is this same sum over the rows posted by then.
SELECT
    atena_no,
    route,
    payer,
    notice_no,
    period,
    min(due_date) AS due_date,
    sum(CASE WHEN entry_kind IN ('assessment', 'increase') THEN amount
             WHEN entry_kind = 'decrease' THEN -amount ELSE 0 END)::BIGINT AS charged,
    sum(CASE WHEN entry_kind IN ('payment', 'appropriation_in') THEN amount
             WHEN entry_kind IN ('refund', 'appropriation_out') THEN -amount ELSE 0 END)::BIGINT AS received,
    greatest(charged - received, 0)::BIGINT AS unpaid,
    greatest(received - charged, 0)::BIGINT AS overpaid
FROM ledger
WHERE fiscal_year = $fiscal_year AND posted_on <= $as_of
GROUP BY atena_no, route, payer, notice_no, period
ORDER BY atena_no, route, payer NULLS FIRST, notice_no, period
