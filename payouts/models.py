# Ledger entries and payouts arrive with the earnings issue.
