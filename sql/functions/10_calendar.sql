-- Pure calendar helpers used by the audit rules (RULES.md "Terms").
-- All IMMUTABLE: they depend on their arguments only.

-- Authorisation deadline of a timesheet whose period ends on p_period_end
-- (RGC 4.6 "no later than two months after period end"): p_period_end plus
-- p_months calendar months; when p_period_end is the last day of its month
-- the deadline is the last day of the month p_months later.
--   31 Jan 2025 -> 31 Mar 2025, 30 Nov 2024 -> 31 Jan 2025,
--   31 Dec 2024 -> 28 Feb 2025, 29 Feb 2024 -> 30 Apr 2024,
--   15 Jan 2025 -> 15 Mar 2025.
-- (A mid-month day that does not exist p_months later, e.g. 30 Dec + 2
-- months, clamps to that month's last day, as PostgreSQL date arithmetic does.)
-- (The hot helpers are plpgsql, not SQL: a SQL function whose parameter is
-- used twice is not inlined for a computed argument and then runs far slower
-- per call than plpgsql, which matters for 120,000 timesheets.)
CREATE OR REPLACE FUNCTION effort_deadline(p_period_end date, p_months int)
RETURNS date LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
	IF p_period_end = (date_trunc('month', p_period_end::timestamp) + interval '1 month' - interval '1 day')::date THEN
		RETURN (date_trunc('month', p_period_end::timestamp) + make_interval(months => p_months + 1) - interval '1 day')::date;
	END IF;
	RETURN (p_period_end + make_interval(months => p_months))::date;
END
$$;

-- First day of the month of p_day (as a date, independent of TimeZone).
CREATE OR REPLACE FUNCTION effort_month_start(p_day date)
RETURNS date LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT date_trunc('month', p_day::timestamp)::date
$$;

-- Last day of the month of p_day.
CREATE OR REPLACE FUNCTION effort_month_end(p_day date)
RETURNS date LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT (date_trunc('month', p_day::timestamp) + interval '1 month' - interval '1 day')::date
$$;

-- Number of weekdays (Mon-Fri) in [1900-01-01, p_day), 1900-01-01 being a
-- Monday; negative for earlier days.  Building block of effort_weekdays.
CREATE OR REPLACE FUNCTION effort_weekdays_before(p_day date)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	k bigint := p_day - date '1900-01-01';
	r bigint := ((k % 7) + 7) % 7;
BEGIN
	RETURN 5 * ((k - r) / 7) + least(r, 5);
END
$$;

-- Weekdays Mon-Fri in the closed range [p_from, p_to]; 0 when the range is
-- empty (p_to < p_from) or either bound is NULL.
CREATE OR REPLACE FUNCTION effort_weekdays(p_from date, p_to date)
RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	a bigint; b bigint; ra bigint; rb bigint;
BEGIN
	IF p_from IS NULL OR p_to IS NULL OR p_to < p_from OR NOT isfinite(p_from) OR NOT isfinite(p_to) THEN
		RETURN 0;
	END IF;
	a := p_from - date '1900-01-01';
	b := p_to + 1 - date '1900-01-01';
	ra := ((a % 7) + 7) % 7;
	rb := ((b % 7) + 7) % 7;
	RETURN (5 * ((b - rb) / 7) + least(rb, 5)) - (5 * ((a - ra) / 7) + least(ra, 5));
END
$$;

-- Days in the closed range [p_from, p_to], 0 when empty.
CREATE OR REPLACE FUNCTION effort_days(p_from date, p_to date)
RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN RETURN 0; END IF;
	RETURN p_to - p_from + 1;
END
$$;

-- Contracted hours of a person of FTE p_fte over the weekdays of
-- [p_from, p_to] that fall inside the employment [p_emp_start, p_emp_end]
-- (p_emp_end NULL = still employed): fte x standard weekly hours x weekdays / 5.
-- January 2025 at 1.0 FTE and 37.5 h: 23 weekdays -> 172.5 h.
CREATE OR REPLACE FUNCTION effort_contracted_hours(p_fte numeric, p_standard_weekly numeric,
	p_from date, p_to date, p_emp_start date, p_emp_end date)
RETURNS numeric LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	RETURN p_fte * p_standard_weekly
	     * effort_weekdays(greatest(p_from, p_emp_start), least(p_to, coalesce(p_emp_end, p_to))) / 5;
END
$$;

-- First day of the cap year containing p_day, cap years starting on the
-- first day of month p_start_month (8 = 1 August - 31 July).
CREATE OR REPLACE FUNCTION effort_cap_year_start(p_day date, p_start_month int)
RETURNS date LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
	RETURN make_date(extract(year FROM p_day)::int
	                 - CASE WHEN extract(month FROM p_day)::int < p_start_month THEN 1 ELSE 0 END,
	                 p_start_month, 1);
END
$$;

-- Last day of the cap year starting on p_year_start.
CREATE OR REPLACE FUNCTION effort_cap_year_end(p_year_start date)
RETURNS date LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT (p_year_start + interval '1 year' - interval '1 day')::date
$$;

-- Whole months from the month of p_from to the month of p_to (0 when the
-- same month): used to count the ended months of a cap year.
CREATE OR REPLACE FUNCTION effort_months_between(p_from date, p_to date)
RETURNS integer LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
	RETURN ((extract(year FROM p_to) - extract(year FROM p_from)) * 12
	      + extract(month FROM p_to) - extract(month FROM p_from))::integer;
END
$$;

-- The months of the cap year starting p_year_start that have ended by
-- p_last_ended (the last day of the last ended month): 0 to 12.
CREATE OR REPLACE FUNCTION effort_cap_year_ended_months(p_year_start date, p_last_ended date)
RETURNS integer LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT greatest(effort_months_between(p_year_start,
	                                      least(effort_cap_year_end(p_year_start), p_last_ended) + 1), 0)
$$;

-- "January 2025" (always English, whatever lc_time says).
CREATE OR REPLACE FUNCTION effort_month_label(p_day date)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT (ARRAY['January','February','March','April','May','June','July',
	              'August','September','October','November','December'])
	       [extract(month FROM p_day)::int] || ' ' || extract(year FROM p_day)::int
$$;

-- Hours as text with two decimals: 172.5 -> '172.50'.
CREATE OR REPLACE FUNCTION effort_fmt_hours(p_hours numeric)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT round(p_hours, 2)::text
$$;
