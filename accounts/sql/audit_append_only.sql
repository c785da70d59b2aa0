-- The audit trail is append-only, like the ledger and the rate history: the database itself refuses
-- to change or remove an entry, whatever code or console tries it. (The function is the one the
-- other append-only tables use, created here too so accounts needs no upper layer's migration.)
CREATE OR REPLACE FUNCTION taskhub_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER accounts_auditentry_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditentry
    FOR EACH ROW EXECUTE FUNCTION taskhub_refuse_change();
