-- 001: the tables effortd keeps.
--
-- Feeds upsert people, grants, assignments, charges and delegations by their
-- natural keys.  Timesheets are kept as versions: one row per version, never
-- updated or deleted; authorisations and rejections are decisions attached to
-- one version.  Hours are numeric with two decimals.  References between feeds
-- are deliberately not foreign keys (feeds arrive in any order); the audit
-- rules flag what does not match.

CREATE TABLE people (
	person_id        text PRIMARY KEY,
	name             text NOT NULL,
	email            text,
	line_manager_id  text,
	fte              numeric(4,3) NOT NULL CHECK (fte > 0 AND fte <= 1),
	employment_start date NOT NULL,
	employment_end   date CHECK (employment_end >= employment_start),
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_line_manager ON people (line_manager_id);

-- Who line-managed whom from when: authorisations are checked against the
-- line manager at the time they were made.  ingest_people appends a row
-- whenever a person's line_manager_id is first seen or changes.
CREATE TABLE line_manager_history (
	person_id       text NOT NULL,
	line_manager_id text,
	valid_from      timestamptz NOT NULL,
	PRIMARY KEY (person_id, valid_from)
);

CREATE TABLE grants (
	grant_ref  text PRIMARY KEY,
	title      text NOT NULL,
	funder     text,
	start_date date NOT NULL,
	end_date   date NOT NULL CHECK (end_date >= start_date),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE assignments (
	person_id  text NOT NULL,
	grant_ref  text NOT NULL,
	start_date date NOT NULL,
	end_date   date CHECK (end_date >= start_date),
	role       text NOT NULL CHECK (role IN ('pi', 'co_i', 'researcher',
	                   'fellow', 'technician', 'rse', 'other')),
	cost_type  text NOT NULL CHECK (cost_type IN ('DI', 'DA', 'EXC')),
	fte_share  numeric(4,3) NOT NULL CHECK (fte_share > 0 AND fte_share <= 1),
	estimated_hours_per_year numeric(7,2) CHECK (estimated_hours_per_year >= 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (person_id, grant_ref, start_date)
);
CREATE INDEX assignments_grant ON assignments (grant_ref);

CREATE TABLE charges (
	person_id    text NOT NULL,
	grant_ref    text NOT NULL,
	month        date NOT NULL CHECK (extract(day FROM month) = 1),
	fte_fraction numeric(5,4) CHECK (fte_fraction >= 0 AND fte_fraction <= 1),
	hours        numeric(8,2) CHECK (hours >= 0),
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (person_id, grant_ref, month),
	CHECK ((fte_fraction IS NULL) <> (hours IS NULL))
);
CREATE INDEX charges_grant ON charges (grant_ref, month);

CREATE TABLE delegations (
	manager_id  text NOT NULL,
	delegate_id text NOT NULL CHECK (delegate_id <> manager_id),
	start_date  date NOT NULL,
	end_date    date NOT NULL CHECK (end_date >= start_date),
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (manager_id, delegate_id, start_date)
);
CREATE INDEX delegations_delegate ON delegations (delegate_id);

CREATE TABLE tokens (
	token_id     bigserial PRIMARY KEY,
	token_hash   bytea NOT NULL UNIQUE,         -- SHA-256 of the token
	role         text NOT NULL CHECK (role IN ('feed', 'manager', 'reviewer', 'admin')),
	person_id    text,
	label        text,
	created_at   timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	revoked_at   timestamptz,
	CHECK ((role = 'manager') = (person_id IS NOT NULL))
);

-- One row per version of a person's timesheet for one period.  Only the
-- highest version of a (person, period) counts.
CREATE TABLE timesheets (
	timesheet_id     bigserial PRIMARY KEY,
	person_id        text NOT NULL REFERENCES people (person_id),
	period_start     date NOT NULL,
	period_end       date NOT NULL,
	version          integer NOT NULL CHECK (version >= 1),
	submitted_at     timestamptz NOT NULL,
	amendment_reason text,
	total_hours      numeric(8,2) NOT NULL,
	received_at      timestamptz NOT NULL DEFAULT now(),
	token_id         bigint REFERENCES tokens (token_id),
	UNIQUE (person_id, period_start, period_end, version),
	CHECK (period_start <= period_end),
	CHECK (date_trunc('month', period_start) = date_trunc('month', period_end))
);
CREATE INDEX timesheets_period ON timesheets (period_start, person_id);

CREATE TABLE timesheet_entries (
	timesheet_id bigint NOT NULL REFERENCES timesheets (timesheet_id),
	position     integer NOT NULL,
	kind         text NOT NULL CHECK (kind IN ('grant', 'project', 'research',
	                 'teaching', 'admin', 'other', 'annual_leave', 'sick_leave',
	                 'public_holiday', 'parental_leave', 'other_leave')),
	activity     text NOT NULL,
	hours        numeric(6,2) NOT NULL CHECK (hours >= 0),
	PRIMARY KEY (timesheet_id, activity),
	UNIQUE (timesheet_id, position)
);
CREATE INDEX timesheet_entries_grant ON timesheet_entries (activity) WHERE kind = 'grant';

-- Authorisations and rejections.  Each belongs to one timesheet version; the
-- latest decision of a version gives its status.
CREATE TABLE timesheet_decisions (
	decision_id  bigserial PRIMARY KEY,
	timesheet_id bigint NOT NULL REFERENCES timesheets (timesheet_id),
	decision     text NOT NULL CHECK (decision IN ('authorised', 'rejected')),
	decided_by   text NOT NULL,
	decided_at   timestamptz NOT NULL,
	reason       text,
	source       text NOT NULL CHECK (source IN ('feed', 'approval')),
	recorded_at  timestamptz NOT NULL DEFAULT now(),
	token_id     bigint REFERENCES tokens (token_id)
);
CREATE INDEX timesheet_decisions_ts ON timesheet_decisions (timesheet_id, decision_id);

-- The latest version of each (person, period), with its current decision.
CREATE VIEW current_timesheets AS
SELECT t.*, d.decision, d.decided_by, d.decided_at, d.reason AS decision_reason
  FROM (SELECT DISTINCT ON (person_id, period_start, period_end) *
          FROM timesheets
         ORDER BY person_id, period_start, period_end, version DESC) t
  LEFT JOIN LATERAL (SELECT * FROM timesheet_decisions d
                      WHERE d.timesheet_id = t.timesheet_id
                      ORDER BY d.decision_id DESC LIMIT 1) d ON true;

-- Findings of the audit rules, kept with their history: a finding that a
-- later evaluation no longer produces is resolved, never deleted.
CREATE TABLE findings (
	finding_id        bigserial PRIMARY KEY,
	rule              text NOT NULL,
	person_id         text NOT NULL,
	grant_ref         text,
	period_start      date NOT NULL,
	period_end        date NOT NULL,
	severity          text NOT NULL CHECK (severity IN ('violation', 'warning')),
	hours             numeric(10,2) NOT NULL,
	detail            text NOT NULL,
	first_detected_at timestamptz NOT NULL DEFAULT now(),
	last_seen_at      timestamptz NOT NULL DEFAULT now(),
	resolved_at       timestamptz
);
-- At most one open finding per rule, person, grant and period.
CREATE UNIQUE INDEX findings_open ON findings
	(rule, person_id, coalesce(grant_ref, ''), period_start, period_end)
	WHERE resolved_at IS NULL;
CREATE INDEX findings_person ON findings (person_id, period_start) WHERE resolved_at IS NULL;
