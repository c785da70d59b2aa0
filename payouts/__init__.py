"""Money: the append-only ledger, the set-based earnings recompute that brings it in line with the
pay rule (the handler of `taskhub.hooks.pay_changed`), payouts and statements, wage floors and
effective hourly rates."""
