-- The rollups read a window's states by their end (or an end still open), so the window's start
-- bounds the scan, as production_count_machine_end does for the counts. The primary key bounds
-- it only from above: the states of every earlier day were read, more each hour.
CREATE INDEX machine_state_end ON curated.machine_state (end_ts);
