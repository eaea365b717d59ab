-- An operator holds at most one ticket at a time, enforced by the store itself: two call-next
-- requests of one operator arriving on two nodes at once cannot both succeed.
CREATE UNIQUE INDEX tickets_one_in_hand ON tickets (operator_id) WHERE status IN ('called', 'serving');

-- Queues are per day: the waiting list of today is what call-next, counts and positions read.
CREATE INDEX tickets_waiting_today ON tickets (branch_id, day, status, priority DESC, sort_key, id);
