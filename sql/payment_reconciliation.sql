-- answers: per payment file, the records received and where they went (posted, provisional, cancelled, suspense, quarantined), the yen the records say were posted and the yen the ledger holds from that file, and whether the two agree
-- basis: bookkeeping (the 収納 of each file reconciled to the ledger: every record in exactly one place, every posted yen in the ledger once)
-- params: $fiscal_year
-- Tables: records (curated/payment_records), ledger (curated/collection_ledger). A payment row's cause is
-- '<channel>:<file>#<record_no>'; the file is the text between the first ':' and the last '#'.
WITH ledger_files AS (
    SELECT
        regexp_extract(cause, '^[a-z_]+:(.*)#[0-9]+$', 1) AS file,
        sum(amount)::BIGINT AS ledger_yen,
        count(*)::BIGINT AS ledger_rows
    FROM ledger
    WHERE fiscal_year = $fiscal_year AND entry_kind = 'payment'
    GROUP BY 1
),
record_files AS (
    SELECT
        file,
        count(*)::BIGINT AS records,
        count(*) FILTER (WHERE disposition = 'posted')::BIGINT AS posted,
        count(*) FILTER (WHERE disposition = 'provisional')::BIGINT AS provisional,
        count(*) FILTER (WHERE disposition = 'cancelled_provisional')::BIGINT AS cancelled,
        count(*) FILTER (WHERE disposition = 'suspense')::BIGINT AS suspense,
        count(*) FILTER (WHERE disposition = 'quarantined')::BIGINT AS quarantined,
        coalesce(sum(posted_amount), 0)::BIGINT AS posted_yen,
        coalesce(sum(suspense_amount), 0)::BIGINT AS suspense_yen
    FROM records
    GROUP BY file
)
SELECT
    r.*,
    coalesce(l.ledger_yen, 0)::BIGINT AS ledger_yen,
    (r.posted_yen = coalesce(l.ledger_yen, 0)
     AND r.records = r.posted + r.provisional + r.cancelled + r.suspense + r.quarantined) AS reconciles
FROM record_files AS r
LEFT JOIN ledger_files AS l ON l.file = r.file
ORDER BY r.file
