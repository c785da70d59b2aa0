-- A top-up's computation is part of the statement it paid: append-only like the ledger entry it
-- explains (the database refuses to change or remove one).
CREATE OR REPLACE TRIGGER payouts_wagefloortopup_append_only
    BEFORE UPDATE OR DELETE ON payouts_wagefloortopup
    FOR EACH ROW EXECUTE FUNCTION taskhub_refuse_change();
