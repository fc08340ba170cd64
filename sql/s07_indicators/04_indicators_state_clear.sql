-- indicators_state_clear.sql: forget what the marts were computed with before the stage writes anything. The stage's
-- statements commit one by one (flows/stages/s07_indicators.py update_indicators), so a stage stopped midway leaves
-- the work tables and marts half rebuilt: with no state they are not current, and the next try recomputes everything
-- (indicators_state_save.sql records the state again at the end).
-- reads: (none)
-- writes: work.indicator_state

DELETE FROM work.indicator_state;
