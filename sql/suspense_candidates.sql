-- answers: for every payment record held in suspense (未特定入金) whose 通知書番号 names a person of the ledger, each unpaid 期 of that person as posted by $as_of that an operator may apply it to, the ones whose unpaid amount equals the payment first
-- basis: 地方自治法施行令第154条 and 地方税法第17条の2 (a payment is applied to the 徴収金 it was paid for; one that cannot be identified is not guessed: an operator decides, these are the candidates); bookkeeping
-- params: $fiscal_year, $as_of
-- Tables: ledger (curated/collection_ledger), suspense (curated/payment_records: the rows with a suspense
-- amount are taken). The 宛名番号 is the last 10 digits of the 通知書番号 (年度 4 + kind 1 + 宛名番号 10), so a payment
-- quoting a 期 the notice does not have, or last 年度's notice, still finds its person.
WITH per_period AS (
    SELECT
        atena_no,
        notice_no,
        route,
        payer,
        period,
        min(installment) AS installment,
        min(due_date) AS due_date,
        sum(CASE WHEN entry_kind IN ('assessment', 'increase') THEN amount
                 WHEN entry_kind = 'decrease' THEN -amount ELSE 0 END) AS charged,
        sum(CASE WHEN entry_kind IN ('payment', 'appropriation_in') THEN amount
                 WHEN entry_kind IN ('refund', 'appropriation_out') THEN -amount ELSE 0 END) AS received
    FROM ledger
    WHERE fiscal_year = $fiscal_year AND posted_on <= $as_of
    GROUP BY atena_no, notice_no, route, payer, period
),
unpaid AS (
    SELECT *, (charged - received) AS unpaid FROM per_period WHERE charged > received
)
SELECT
    s.file,
    s.record_no,
    s.reason_code,
    s.suspense_amount AS payment,
    u.atena_no,
    u.notice_no,
    u.route,
    u.payer,
    u.period,
    u.installment,
    u.due_date,
    u.unpaid::BIGINT AS unpaid,
    (u.unpaid = s.suspense_amount) AS exact_amount
FROM suspense AS s
JOIN unpaid AS u ON u.atena_no = right(s.notice_no, 10)
WHERE s.suspense_amount > 0 AND s.notice_no IS NOT NULL
ORDER BY s.file, s.record_no, exact_amount DESC, u.due_date, u.route, u.period
