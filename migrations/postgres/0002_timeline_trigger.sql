-- The ticket timeline is written by the store itself: every status change, recall and issue
-- leaves a row in ticket_events in the same statement, so no code path can change a ticket
-- without a trace, and a change costs one statement instead of a transaction of several.

ALTER TABLE tickets ADD COLUMN changed_at BIGINT;

CREATE FUNCTION ticket_timeline() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_events (ticket_id, at, kind, operator_id, window_id, detail)
        VALUES (NEW.id, NEW.issued_at, 'issued', NULL, NULL, CASE WHEN NEW.priority > 0 THEN 'vip' END);
    ELSIF OLD.status IS DISTINCT FROM NEW.status OR OLD.recalls IS DISTINCT FROM NEW.recalls THEN
        INSERT INTO ticket_events (ticket_id, at, kind, operator_id, window_id, detail)
        VALUES (
            NEW.id,
            COALESCE(NEW.changed_at, 0),
            CASE
                WHEN NEW.status = 'called' AND OLD.status = 'waiting' THEN 'called'
                WHEN NEW.status = 'called' THEN 'recall'
                WHEN NEW.status = 'serving' THEN 'start'
                WHEN NEW.status = 'done' THEN 'finish'
                WHEN NEW.status = 'no_show' THEN 'no_show'
                WHEN NEW.status = 'waiting' THEN 'transfer'
                ELSE NEW.status
            END,
            COALESCE(NEW.operator_id, OLD.operator_id),
            COALESCE(NEW.window_id, OLD.window_id),
            CASE
                WHEN NEW.status = 'waiting' THEN 'to service ' || NEW.service_id
                    || CASE WHEN NEW.sort_key < 0 THEN ' at the front' ELSE ' at the back' END
                    || COALESCE(': ' || NEW.comment, '')
                WHEN NEW.status IN ('done', 'no_show') THEN NEW.comment
            END
        );
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER ticket_timeline AFTER INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_timeline();
