-- One window, one operator: an operator at work or on a break holds their window; one who is
-- offline keeps it only as a suggestion for their return. Before, two operators could sit at one
-- window and the board showed two tickets called to it at once. Where that happened, the one who
-- sat down last keeps the window and the others are signed off (they choose again on return).
UPDATE operator_states SET presence = '{"state":"offline"}'
WHERE window_id IS NOT NULL AND presence <> '{"state":"offline"}'
  AND EXISTS (SELECT 1 FROM operator_states o
              WHERE o.window_id = operator_states.window_id AND o.presence <> '{"state":"offline"}'
                AND (o.since > operator_states.since
                     OR (o.since = operator_states.since AND o.user_id > operator_states.user_id)));
CREATE UNIQUE INDEX operator_states_one_per_window ON operator_states(window_id)
WHERE window_id IS NOT NULL AND presence <> '{"state":"offline"}';

-- When a console of the operator was last seen connected (refreshed by the node holding it):
-- presence follows the console, so an operator whose console closed and did not come back
-- within the grace is signed off. Empty for an operator working through the API alone.
ALTER TABLE operator_states ADD COLUMN console_seen_at BIGINT;
