-- Written by hand: the full-text index is filled by importLists in one INSERT ... SELECT after
-- a list's rows are in, not by a trigger per row (a Debian main list: 0.13 s against 1.1 s).
-- Deletes still follow the packages table through its trigger.
DROP TRIGGER `packages_fts_insert`;
