-- answers: the 収納日計 of one day: how many rows and how many yen were posted on $day per kind of money movement (payment, refund, appropriation) and route
-- basis: bookkeeping (the day's receipts of the 収納 ledger, summed as posted; no article prescribes this statement)
-- params: $fiscal_year, $day
SELECT
    entry_kind,
    route,
    count(*)::BIGINT AS rows,
    sum(amount)::BIGINT AS amount
FROM ledger
WHERE fiscal_year = $fiscal_year AND posted_on = $day
  AND entry_kind IN ('payment', 'refund', 'appropriation_in', 'appropriation_out')
GROUP BY entry_kind, route
ORDER BY entry_kind, route
