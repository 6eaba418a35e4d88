-- 022: a grant may have no end_date (RULES.md, second edition: an
-- assignment without end_date runs to its grant's end_date, "open when the
-- grant is unknown or has none").  Before, the grants feed required one and
-- an open-ended award (a fellowship or an institutional fund without a
-- fixed end) could not be sent at all.  assignments_effective already
-- reads a NULL end as open; the rules' outside_grant_period then looks only
-- before the start.
ALTER TABLE grants ALTER COLUMN end_date DROP NOT NULL;
