package RulesModel;

# An independent model of the rulebook (/work/shared/RULES.md, its
# "Clarifications (second edition)" taking precedence), for tests/t/model.t:
# the organisation's records are given to it as they are sent to effortd's
# feeds (and the approvals and rejections made through the API), and
# findings(AS_OF) answers what GET /v1/violations?as_of=AS_OF should list
# (rule, severity, person_id, grant_ref, period_start, period_end, hours
# rounded to 2 decimals).
#
# Written from RULES.md and the UKRI guidance alone, not from effortd's SQL,
# and kept plain rather than fast: dates are walked day by day, every
# quantity is an exact rational (RulesModel::Q below) until the final
# rounding.
# Readings of sentences that can be taken two ways are marked AMBIGUOUS.
#
#   my $m = RulesModel->new;                         # default settings
#   $m->people(\@records, $arrived_epoch);          # as posted, in order
#   $m->grants(\@records); $m->assignments(\@records);
#   $m->charges(\@records); $m->delegations(\@records);
#   my @answers = $m->timesheets(\@records, $arrived_epoch);  # what the feed should answer
#   $m->decide($person, $start, $end, authorised => $by, $at);  # API approval
#   $m->my_delegation({manager_id, delegate_id, start_date, end_date});
#   my @rows = $m->findings('2025-06-01');

use strict;
use warnings;

use POSIX ();
use Time::Local qw(timegm);

my %DEFAULTS = (
	timezone                  => 'Europe/London',
	standard_weekly_hours     => '37.5',
	investigator_annual_hours => '1650',
	authorisation_months      => 2,
	cap_year_start_month      => 8,
	teaching_weekly_hours     => '6',
	all_hours_tolerance       => '0.5',
	charge_tolerance          => '0.5',
	reminder_days             => 14,
	# AMBIGUOUS: "the person's line manager ... when the authorisation was
	# recorded".  'authorised_at': the manager in force at the
	# authorisation's own timestamp (docs/api.md: "earlier authorisations
	# are checked against the manager of their day"); 'received': the
	# manager in force when effortd stored the authorisation.
	manager_time => 'authorised_at',
);

my @NON_PRODUCTIVE = qw(annual_leave sick_leave public_holiday parental_leave other_leave);

sub new {
	my ($class, %settings) = @_;
	my $self = bless { s => { %DEFAULTS, %settings }, seq => 0, people => {}, grants => {},
		assignments => {}, charges => {}, delegations => [], ts => {} }, $class;
	return $self;
}

# ------------------------------------------------------------------ numbers

# An exact rational from a decimal text or number ("0.666667", 37.5, 12).
sub R { RulesModel::Q->parse(defined $_[0] ? "$_[0]" : 0) }
my $ZERO = R(0);

# Hours (at most 2 decimals) are kept as integer hundredths ("cents"), and
# made exact rationals where they meet a fraction.
sub cents { sprintf '%.0f', $_[0] * 100 }
sub H { RulesModel::Q->new($_[0], 100) }

# Rounded to 2 decimals, half away from zero, as text ("42.86").
sub round2 {
	my ($x) = @_;
	my $neg = $x < 0;
	my $c = ($neg ? -$x : $x) * 100 + R('0.5');
	my $ci = $c->floor;
	my $s = sprintf '%d.%02d', int($ci / 100), $ci % 100;
	$s =~ s/^/-/ if $neg && $ci != 0;
	return $s;
}

# ------------------------------------------------------------------ calendar
# Dates are day numbers (days since 1970-01-01) inside the model.

sub dn {
	my ($s) = @_;
	my ($y, $m, $d) = $s =~ /\A(\d{4})-(\d\d)-(\d\d)\z/ or die "not a date: $s";
	return int(timegm(0, 0, 12, $d, $m - 1, $y) / 86400);
}
sub ds {
	my ($n) = @_;
	my @t = gmtime($n * 86400 + 43200);
	return sprintf '%04d-%02d-%02d', $t[5] + 1900, $t[4] + 1, $t[3];
}
sub ymd { my @t = gmtime($_[0] * 86400 + 43200); ($t[5] + 1900, $t[4] + 1, $t[3]) }
sub is_weekday { my $w = ($_[0] + 4) % 7; $w >= 1 && $w <= 5 }    # 1970-01-01 was a Thursday
sub days_in_month {
	my ($y, $m) = @_;
	return (31, ($y % 4 == 0 && ($y % 100 != 0 || $y % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[$m - 1];
}
sub month_first { dn(sprintf '%04d-%02d-01', @_) }
sub month_last  { dn(sprintf '%04d-%02d-%02d', $_[0], $_[1], days_in_month(@_)) }
sub next_month  { my ($y, $m) = @_; $m == 12 ? ($y + 1, 1) : ($y, $m + 1) }
sub add_months {
	my ($y, $m, $k) = @_;
	my $i = $y * 12 + $m - 1 + $k;
	return (int($i / 12), $i % 12 + 1);
}

# The authorisation deadline of a period ending on day number $end: that
# date plus authorisation_months calendar months; a month's last day goes to
# the last day of the target month.
# AMBIGUOUS: a day that the target month lacks (30 December + 2 months) is
# taken as that month's last day (28 February).
sub deadline {
	my ($self, $end) = @_;
	my ($y, $m, $d) = ymd($end);
	my ($ty, $tm) = add_months($y, $m, $self->{s}{authorisation_months});
	my $last = days_in_month($ty, $tm);
	return month_last($ty, $tm) if $d == days_in_month($y, $m) || $d > $last;
	return dn(sprintf '%04d-%02d-%02d', $ty, $tm, $d);
}

# ------------------------------------------------------------------ time zone

# Seconds since the epoch of an ISO-8601 timestamp with Z or an offset.
sub epoch {
	my ($s) = @_;
	my ($y, $mo, $d, $h, $mi, $se, $frac, $z) =
		$s =~ /\A(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)\z/i
		or die "not a timestamp: $s";
	my $t = timegm($se // 0, $mi, $h, $d, $mo - 1, $y) + ($frac // 0);
	if (uc $z ne 'Z') {
		my ($sign, $oh, $om) = $z =~ /([+-])(\d\d):?(\d\d)?/;
		my $off = ($oh * 60 + ($om // 0)) * 60;
		$t -= $sign eq '+' ? $off : -$off;
	}
	return $t;
}

# Europe/London: BST (UTC+1) from 01:00 UTC on the last Sunday of March to
# 01:00 UTC on the last Sunday of October.
sub last_sunday_utc {
	my ($y, $m) = @_;
	my $d = month_last($y, $m);
	$d-- while ($d + 4) % 7 != 0;
	return $d * 86400 + 3600;
}
sub zone_offset {
	my ($self, $t) = @_;
	my $tz = $self->{s}{timezone};
	return 0 if $tz eq 'UTC' || $tz eq 'Etc/UTC';
	return libc_offset($tz, $t) unless $tz eq 'Europe/London';
	my $y = (gmtime $t)[5] + 1900;
	return ($t >= last_sunday_utc($y, 3) && $t < last_sunday_utc($y, 10)) ? 3600 : 0;
}

# Any other zone: its offset at $t as the C library reads the system's tz
# database (localtime under TZ), not as PostgreSQL does.
sub libc_offset {
	my ($tz, $t) = @_;
	my $offset;
	{
		local $ENV{TZ} = $tz;
		POSIX::tzset();
		my @l = localtime POSIX::floor($t);
		$offset = timegm(@l[0 .. 5]) - POSIX::floor($t);
	}
	POSIX::tzset();
	return $offset;
}

# The local date (day number) of a timestamp in the organisation's zone.
sub local_day {
	my ($self, $ts) = @_;
	my $t = epoch($ts);
	return POSIX::floor(($t + $self->zone_offset($t)) / 86400);
}

# ------------------------------------------------------------------ records

sub people {
	my ($self, $records, $arrived) = @_;
	for my $r (@$records) {
		my $seq = ++$self->{seq};
		my $p = $self->{people}{ $r->{person_id} } //= { id => $r->{person_id}, lm => [] };
		my $lm = $r->{line_manager_id};
		my $prev = @{ $p->{lm} } ? $p->{lm}[-1] : undef;
		push @{ $p->{lm} }, { lm => $lm, time => $arrived // time, seq => $seq }
			if !$prev || ($prev->{lm} // '') ne ($lm // '');
		$p->{fte} = R($r->{fte});
		delete $p->{unit};
		$p->{start} = dn($r->{employment_start});
		$p->{end} = defined $r->{employment_end} ? dn($r->{employment_end}) : undef;
	}
}

sub grants {
	my ($self, $records) = @_;
	for my $r (@$records) {
		$self->{grants}{ $r->{grant_ref} } = { start => dn($r->{start_date}), end => defined $r->{end_date} ? dn($r->{end_date}) : undef };
	}
}

sub assignments {
	my ($self, $records) = @_;
	for my $r (@$records) {
		$self->{assignments}{"$r->{person_id}|$r->{grant_ref}|$r->{start_date}"} = {
			person => $r->{person_id}, grant => $r->{grant_ref}, role => $r->{role},
			cost_type => $r->{cost_type}, start => dn($r->{start_date}),
			end => defined $r->{end_date} ? dn($r->{end_date}) : undef,
			share => R($r->{fte_share}),
			estimate => defined $r->{estimated_hours_per_year} ? R($r->{estimated_hours_per_year}) : $ZERO };
	}
}

sub charges {
	my ($self, $records) = @_;
	for my $r (@$records) {
		$self->{charges}{"$r->{person_id}|$r->{grant_ref}|$r->{month}"} = {
			person => $r->{person_id}, grant => $r->{grant_ref}, month => $r->{month},
			defined $r->{hours} ? (hours => R($r->{hours})) : (fraction => R($r->{fte_fraction})) };
	}
}

# Delegations from the HR feed: they count by their dates alone.
sub delegations {
	my ($self, $records) = @_;
	for my $r (@$records) {
		my $seq = ++$self->{seq};
		@{ $self->{delegations} } = grep {
			!($_->{manager} eq $r->{manager_id} && $_->{delegate} eq $r->{delegate_id} && $_->{start} == dn($r->{start_date}))
		} @{ $self->{delegations} };
		push @{ $self->{delegations} }, { manager => $r->{manager_id}, delegate => $r->{delegate_id},
			start => dn($r->{start_date}), end => dn($r->{end_date}), source => 'feed', seq => $seq };
	}
}

# A manager's own delegation (POST /v1/me/delegations): counts only for
# authorisations recorded after it.
sub my_delegation {
	my ($self, $r) = @_;
	push @{ $self->{delegations} }, { manager => $r->{manager_id}, delegate => $r->{delegate_id},
		start => dn($r->{start_date}), end => dn($r->{end_date}), source => 'api', seq => ++$self->{seq} };
}

sub entries_key {
	my ($entries) = @_;
	return join ';', map { "$_->{activity}|$_->{kind}|" . cents($_->{hours}) }
		sort { $a->{activity} cmp $b->{activity} } @$entries;
}

# The timesheets feed, record by record, with the version rules of the
# second edition; answers per record 'created', 'updated', 'unchanged' or
# 'refused: FIELD' (the caller sends only batches the model accepts whole,
# or checks that effortd refuses the same).
sub timesheet_answer {
	my ($self, $r) = @_;
	my $key = "$r->{person_id}|$r->{period_start}|$r->{period_end}";
	my $ts = $self->{ts}{$key};
	my $ek = entries_key($r->{entries});
	my $auth = defined $r->{authorised_by} ? { by => $r->{authorised_by}, at => $r->{authorised_at} } : undef;
	my $same_auth = sub { my ($a, $b) = @_; $a && $b && $a->{by} eq $b->{by} && epoch($a->{at}) == epoch($b->{at}) };
	return ('created', $key) unless $ts;
	for my $v (@{ $ts->{versions} }) {
		return ('unchanged', $key)
			if $v->{ek} eq $ek && epoch($v->{submitted_at}) == epoch($r->{submitted_at})
			&& (!$auth || $same_auth->($auth, $v->{auth}));
	}
	my $cur = $ts->{versions}[-1];
	if ($cur->{ek} eq $ek) {
		return ('unchanged', $key) unless $auth;
		return ('refused: authorised_by', $key) if $cur->{rejected};
		return ('refused: authorised_by', $key) if $cur->{auth} && !$same_auth->($auth, $cur->{auth});
		return ('unchanged', $key) if $cur->{auth};
		# AMBIGUOUS: "subject to 3": an earlier version's authorisation is
		# refused here too (entries reverted to the current version's).
		return ('refused: authorised_at', $key) if grep { $same_auth->($auth, $_->{auth}) } @{ $ts->{versions} };
		return ('updated', $key);
	}
	return ('refused: submitted_at', $key) if epoch($r->{submitted_at}) < epoch($cur->{submitted_at});
	return ('refused: authorised_at', $key)
		if $auth && grep { $same_auth->($auth, $_->{auth}) } @{ $ts->{versions} };
	# A reason of nothing but white space is none ("rejected without one").
	return ('refused: amendment_reason', $key) if $cur->{auth} && ($r->{amendment_reason} // '') !~ /\S/;
	return ('updated', $key);
}

sub timesheets {
	my ($self, $records, $arrived) = @_;
	my @answers;
	for my $r (@$records) {
		my ($answer, $key) = $self->timesheet_answer($r);
		push @answers, $answer;
		next if $answer eq 'unchanged' || $answer =~ /^refused/;
		my $seq = ++$self->{seq};
		my $auth = defined $r->{authorised_by}
			? { by => $r->{authorised_by}, at => $r->{authorised_at}, seq => $seq, time => $arrived // time, source => 'feed' }
			: undef;
		my $ts = $self->{ts}{$key} //= { person => $r->{person_id}, start => dn($r->{period_start}),
			end => dn($r->{period_end}), versions => [] };
		my $cur = @{ $ts->{versions} } ? $ts->{versions}[-1] : undef;
		if ($cur && $cur->{ek} eq entries_key($r->{entries})) {
			$cur->{auth} = $auth;    # an authorisation the current version lacked
			next;
		}
		push @{ $ts->{versions} }, { ek => entries_key($r->{entries}), submitted_at => $r->{submitted_at},
			entries => [ map { { kind => $_->{kind}, activity => $_->{activity}, hours => cents($_->{hours}) } } @{ $r->{entries} } ],
			auth => $auth, rejected => 0 };
	}
	return @answers;
}

# An approval or rejection through the API on the current version of the
# timesheet (person, period); $at is the authorised_at effortd answered.
sub decide {
	my ($self, $person, $start, $end, $decision, $by, $at) = @_;
	my $ts = $self->{ts}{"$person|$start|$end"} or die "no timesheet $person $start $end";
	my $v = $ts->{versions}[-1];
	if ($decision eq 'authorised') {
		$v->{auth} = { by => $by, at => $at, seq => ++$self->{seq}, time => epoch($at), source => 'api' };
	} else {
		$v->{rejected} = 1;
	}
}

# ------------------------------------------------------------------ helpers

# An assignment's last day: its end_date, else its grant's end_date (second
# edition, "Open-ended assignments"); undef when open.
sub asg_end {
	my ($self, $a) = @_;
	return $a->{end} if defined $a->{end};
	my $g = $self->{grants}{ $a->{grant} };
	return $g ? $g->{end} : undef;
}
# Whether the assignment has a day in [from, to].  An open-ended assignment
# whose grant ended before it started has no day at all.
sub asg_overlaps {
	my ($self, $a, $from, $to) = @_;
	my $end = $self->asg_end($a);
	$end = $to if !defined $end || $end > $to;
	my $start = $a->{start} > $from ? $a->{start} : $from;
	return $start <= $end;
}
sub asg_covers_day {
	my ($self, $a, $d) = @_;
	my $end = $self->asg_end($a);
	return $a->{start} <= $d && (!defined $end || $d <= $end);
}
sub assignments_of {
	my ($self, $person) = @_;
	return @{ $self->{index}{asg}{$person} // [] };
}
sub employed {
	my ($p, $d) = @_;
	return $d >= $p->{start} && (!defined $p->{end} || $d <= $p->{end});
}

# Weekdays of [from, to] inside the person's employment.
sub employed_weekdays {
	my ($p, $from, $to) = @_;
	my $n = 0;
	for my $d ($from .. $to) { $n++ if is_weekday($d) && employed($p, $d) }
	return $n;
}

# Contracted hours of n weekdays: fte × standard weekly hours × n ÷ 5.
sub contracted {
	my ($self, $p, $n) = @_;
	$p->{unit} //= $p->{fte} * R($self->{s}{standard_weekly_hours}) / R(5);
	return $p->{unit} * R($n);
}

# The latest versions of a person's timesheets whose period lies in month
# (y, m), each { start, end, v => version }.
sub month_timesheets {
	my ($self, $person, $y, $m) = @_;
	return @{ $self->{index}{ts}{$person}{ sprintf '%04d-%02d', $y, $m } // [] };
}

# Indexes of the records by person (and month), made afresh by findings().
sub make_index {
	my ($self) = @_;
	my %ix;
	for my $k (sort keys %{ $self->{ts} }) {
		my $t = $self->{ts}{$k};
		my ($y, $m) = ymd($t->{start});
		push @{ $ix{ts}{ $t->{person} }{ sprintf '%04d-%02d', $y, $m } },
			{ start => $t->{start}, end => $t->{end}, v => $t->{versions}[-1] };
		push @{ $ix{all_ts}{ $t->{person} } }, $t;
	}
	for my $k (sort keys %{ $self->{assignments} }) {
		my $a = $self->{assignments}{$k};
		push @{ $ix{asg}{ $a->{person} } }, $a;
	}
	for my $k (sort keys %{ $self->{charges} }) {
		my $c = $self->{charges}{$k};
		push @{ $ix{charges}{ $c->{person} }{ $c->{month} } }, $c;
	}
	$self->{index} = \%ix;
}

# A version's total hours, in hundredths.
sub total_hours {
	my ($v) = @_;
	my $t = 0;
	$t += $_->{hours} for @{ $v->{entries} };
	return $t;
}

# The months (y, m) from the one holding day $from to the one holding $to.
sub months_between {
	my ($from, $to) = @_;
	my ($y, $m) = ymd($from);
	my ($ty, $tm) = ymd($to);
	my @out;
	while ($y * 12 + $m <= $ty * 12 + $tm) {
		push @out, [ $y, $m ];
		($y, $m) = next_month($y, $m);
	}
	return @out;
}

sub finding {
	my ($rule, $severity, $person, $grant, $start, $end, $hours) = @_;
	return { rule => $rule, severity => $severity, person_id => $person, grant_ref => $grant,
		period_start => defined $start ? ds($start) : undef, period_end => defined $end ? ds($end) : undef,
		hours => round2($hours) };
}

# ------------------------------------------------------------------ the rules

sub findings {
	my ($self, $as_of_text) = @_;
	my $as_of = dn($as_of_text);
	$self->make_index;
	my @f;
	for my $pid (sort keys %{ $self->{people} }) {
		my $p = $self->{people}{$pid};
		push @f, $self->monthly_rules($p, $as_of);
		push @f, $self->authorisation_rules($p, $as_of);
		push @f, $self->cap_rules($p, $as_of);
		push @f, $self->teaching_rules($p, $as_of);
	}
	push @f, $self->unknown_people_charges($as_of);
	return sort {
		$a->{person_id} cmp $b->{person_id} || $a->{period_start} cmp $b->{period_start}
		|| $a->{rule} cmp $b->{rule} || ($a->{grant_ref} // '') cmp ($b->{grant_ref} // '')
		|| ($a->{period_end} // '') cmp ($b->{period_end} // '')
	} @f;
}

# The months a person's monthly rules look at: from the earliest of their
# assignments, timesheets and charges to the last month ended before as_of.
sub person_months {
	my ($self, $p, $as_of) = @_;
	my @starts = map { $_->{start} } $self->assignments_of($p->{id});
	push @starts, map { $_->{start} } @{ $self->{index}{all_ts}{ $p->{id} } // [] };
	push @starts, map { dn("$_-01") } keys %{ $self->{index}{charges}{ $p->{id} } // {} };
	return () unless @starts;
	my ($first) = sort { $a <=> $b } @starts;
	my ($ly, $lm) = ymd($as_of - 1);
	($ly, $lm) = add_months($ly, $lm, -1) if month_last($ly, $lm) >= $as_of;    # ended: last day before as_of
	my $last = month_first($ly, $lm);
	return month_first((ymd($first))[0, 1]) > $last ? () : months_between($first, $last);
}

# RGC 4.6: a DI or EXC assignment overlapping M, unless a single assignment
# with fte_share 1.0 covers every day of M within the employment and no
# other assignment overlaps M.
# AMBIGUOUS: "no other assignment" is read as any other assignment of the
# person, whatever its cost type or grant.
sub must_keep_timesheet {
	my ($self, $p, $y, $m) = @_;
	my ($f, $l) = (month_first($y, $m), month_last($y, $m));
	my @over = grep { $self->asg_overlaps($_, $f, $l) } $self->assignments_of($p->{id});
	return 0 unless grep { $_->{cost_type} eq 'DI' || $_->{cost_type} eq 'EXC' } @over;
	if (@over == 1 && $over[0]{share} == 1) {
		my $all = 1;
		for my $d ($f .. $l) { $all = 0 if employed($p, $d) && !$self->asg_covers_day($over[0], $d) }
		return 0 if $all;
	}
	return 1;
}

sub monthly_rules {
	my ($self, $p, $as_of) = @_;
	my @f;
	my $s = $self->{s};
	for my $ym ($self->person_months($p, $as_of)) {
		my ($y, $m) = @$ym;
		my ($f, $l) = (month_first($y, $m), month_last($y, $m));
		my @ts = $self->month_timesheets($p->{id}, $y, $m);
		my %covered;
		for my $t (@ts) { $covered{$_} = 1 for $t->{start} .. $t->{end} }

		# timesheet_missing
		if ($self->must_keep_timesheet($p, $y, $m)) {
			my $n = 0;
			for my $d ($f .. $l) { $n++ if is_weekday($d) && employed($p, $d) && !$covered{$d} }
			if ($n > 0) {
				my $sev = $as_of > $self->deadline($l) ? 'violation' : 'warning';
				push @f, finding('timesheet_missing', $sev, $p->{id}, undef, $f, $l, $self->contracted($p, $n));
			}
		}

		# hours_incomplete (all hours basis, of whoever has timesheets in M)
		# AMBIGUOUS: raised for anyone with timesheets in M, not only those
		# who must keep them; the finding's period is the month.
		if (@ts) {
			my $n = 0;
			for my $d (sort { $a <=> $b } keys %covered) { $n++ if is_weekday($d) && employed($p, $d) }
			my $total = 0;
			$total += total_hours($_->{v}) for @ts;
			my $short = $self->contracted($p, $n) - H($total);
			push @f, finding('hours_incomplete', 'violation', $p->{id}, undef, $f, $l, $short)
				if $short > R($s->{all_hours_tolerance});
		}

		# charges against recorded hours
		my $month = sprintf '%04d-%02d', $y, $m;
		my $contracted_month = $self->contracted($p, employed_weekdays($p, $f, $l));
		my (%recorded, %outside);
		for my $t (@ts) {
			for my $e (@{ $t->{v}{entries} }) {
				next unless $e->{kind} eq 'grant';
				$recorded{ $e->{activity} } += $e->{hours};
				my $g = $self->{grants}{ $e->{activity} };
				if ($g && ($t->{end} < $g->{start} || (defined $g->{end} && $t->{start} > $g->{end}))) {
					$outside{ $e->{activity} } += $e->{hours};
				}
			}
		}
		my $charged_total = $ZERO->copy;
		my $any_charge = 0;
		for my $c (@{ $self->{index}{charges}{ $p->{id} }{$month} // [] }) {
			$any_charge = 1;
			my $charged = exists $c->{hours} ? $c->{hours} : $c->{fraction} * $contracted_month;
			$charged_total += $charged;
			my $rec = H($recorded{ $c->{grant} } // 0);
			# AMBIGUOUS: a charge of 0 h (fte_fraction 0) is no charge.
			if ($charged > 0 && $rec == 0) {
				push @f, finding('activity_missing', 'violation', $p->{id}, $c->{grant}, $f, $l, $charged);
			} elsif ($charged - $rec > R($s->{charge_tolerance})) {
				push @f, finding('unevidenced_charge', 'violation', $p->{id}, $c->{grant}, $f, $l, $charged - $rec);
			}
		}
		push @f, finding('overcharged_month', 'violation', $p->{id}, undef, $f, $l, $charged_total - $contracted_month)
			if $any_charge && $charged_total > $contracted_month;

		# hours on grants without an assignment overlapping M, or outside the grant period
		for my $g (sort keys %recorded) {
			next unless $recorded{$g} > 0;
			my $assigned = grep { $_->{grant} eq $g && $self->asg_overlaps($_, $f, $l) } $self->assignments_of($p->{id});
			push @f, finding('unassigned_grant_hours', 'violation', $p->{id}, $g, $f, $l, H($recorded{$g})) unless $assigned;
		}
		for my $g (sort keys %outside) {
			push @f, finding('outside_grant_period', 'violation', $p->{id}, $g, $f, $l, H($outside{$g})) if $outside{$g} > 0;
		}
	}
	return @f;
}

# Charges to people effortd has not heard of: payroll charged them, and no
# timesheet (which needs a known person) records the hours.
# AMBIGUOUS: RULES.md's activity_missing applies to any charged person; a
# charge in hours to an unknown person is activity_missing, one by
# fte_fraction has no contracted hours to convert with and gives none.
sub unknown_people_charges {
	my ($self, $as_of) = @_;
	my @f;
	for my $k (sort keys %{ $self->{charges} }) {
		my $c = $self->{charges}{$k};
		next if $self->{people}{ $c->{person} } || !exists $c->{hours} || $c->{hours} <= 0;
		my ($y, $m) = split /-/, $c->{month};
		next unless month_last($y, $m) < $as_of;
		push @f, finding('activity_missing', 'violation', $c->{person}, $c->{grant}, month_first($y, $m), month_last($y, $m), $c->{hours});
	}
	return @f;
}

# The line manager of a person in force for an authorisation (see
# manager_time); undef when there is none.
# AMBIGUOUS: before the first people record arrived, the first manager it
# named is taken as in force (authorisations of past months are sent after
# the people feed that names their manager).
sub manager_for {
	my ($self, $p, $auth) = @_;
	my @hist = @{ $p->{lm} };
	return undef unless @hist;
	my @before;
	if ($self->{s}{manager_time} eq 'received' || $auth->{source} eq 'api') {
		@before = grep { $_->{seq} < $auth->{seq} } @hist;
	} else {
		my $t = epoch($auth->{at});
		@before = grep { $_->{time} <= $t } @hist;
	}
	return @before ? $before[-1]{lm} : $hist[0]{lm};
}

# Second edition, "No line manager": an authorisation recorded (stored by
# effortd) while the person has no line manager is invalid, whatever its
# own timestamp says.
sub had_manager_when_recorded {
	my ($self, $p, $auth) = @_;
	my @before = grep { $_->{seq} < $auth->{seq} } @{ $p->{lm} };
	return @before && defined $before[-1]{lm};
}

sub active_delegate {
	my ($self, $manager, $delegate, $auth) = @_;
	my $day = $self->local_day($auth->{at});
	for my $dl (@{ $self->{delegations} }) {
		next unless $dl->{manager} eq $manager && $dl->{delegate} eq $delegate;
		next unless $dl->{start} <= $day && $day <= $dl->{end};
		next if $dl->{source} eq 'api' && $dl->{seq} > $auth->{seq};
		return 1;
	}
	return 0;
}

sub authorisation_rules {
	my ($self, $p, $as_of) = @_;
	my @f;
	for my $ts (@{ $self->{index}{all_ts}{ $p->{id} } // [] }) {
		my $v = $ts->{versions}[-1];
		my $total = H(total_hours($v));
		my $deadline = $self->deadline($ts->{end});
		my $auth = $v->{auth};
		my @at = ($p->{id}, undef, $ts->{start}, $ts->{end}, $total);
		if (!$auth) {
			if ($as_of > $deadline) {
				push @f, finding('authorisation_overdue', 'violation', @at);
			} elsif ($deadline - $as_of <= $self->{s}{reminder_days}) {
				# AMBIGUOUS: "within 14 days of as_of": 0 ≤ deadline − as_of ≤ 14.
				push @f, finding('authorisation_due', 'warning', @at);
			}
			next;
		}
		my $day = $self->local_day($auth->{at});
		push @f, finding('authorisation_late', 'violation', @at) if $day > $deadline;
		my $manager = $self->manager_for($p, $auth);
		my $invalid = $auth->{by} eq $p->{id}
			|| $day <= $ts->{end}
			|| epoch($auth->{at}) < epoch($v->{submitted_at})
			|| !defined $manager
			|| !$self->had_manager_when_recorded($p, $auth)
			|| ($auth->{by} ne $manager && !$self->active_delegate($manager, $auth->{by}, $auth));
		push @f, finding('authorisation_invalid', 'violation', @at) if $invalid;
	}
	return @f;
}

# The cap years (first day, last day) from the one holding day $from to the
# one holding day $to.
sub cap_years {
	my ($self, $from, $to) = @_;
	my $sm = $self->{s}{cap_year_start_month};
	my @out;
	my ($y, $m) = ymd($from);
	my $start_year = $m >= $sm ? $y : $y - 1;
	for (my $cy = $start_year; month_first($cy, $sm) <= $to; $cy++) {
		my ($ey, $em) = add_months($cy, $sm, 11);
		push @out, [ month_first($cy, $sm), month_last($ey, $em), $cy ];
	}
	return @out;
}

sub cap_rules {
	my ($self, $p, $as_of) = @_;
	my @f;
	my $s = $self->{s};
	my @asg = $self->assignments_of($p->{id});
	my @inv = grep { $_->{role} eq 'pi' || $_->{role} eq 'co_i' } @asg;
	return () unless @inv;
	my ($first) = sort { $a <=> $b } map { $_->{start} } @inv;
	for my $cy ($self->cap_years($first, $as_of)) {
		my ($cs, $ce, $sy) = @$cy;
		next if $cs > $as_of;    # cap years that began after as_of are not evaluated
		next unless grep { $self->asg_overlaps($_, $cs, $ce) } @inv;
		my $year_days = $ce - $cs + 1;
		my $emp_days = 0;
		for my $d ($cs .. $ce) { $emp_days++ if employed($p, $d) }
		my $cap = R($s->{investigator_annual_hours}) * $p->{fte} * R($emp_days) / R($year_days);

		# the months of the cap year; n of them ended before as_of
		my @months = months_between($cs, $ce);
		my $n = grep { month_last(@$_) < $as_of } @months;
		my $ended_to = $n ? month_last(@{ $months[ $n - 1 ] }) : $cs - 1;
		my ($cents, $cents_ended) = (0, 0);
		for my $i (0 .. $#months) {
			for my $t ($self->month_timesheets($p->{id}, @{ $months[$i] })) {
				for my $e (@{ $t->{v}{entries} }) {
					next unless $e->{kind} eq 'grant';
					$cents += $e->{hours};
					$cents_ended += $e->{hours} if $i < $n;
				}
			}
		}
		my ($hours, $hours_ended) = (H($cents), H($cents_ended));
		for my $a (grep { $_->{cost_type} eq 'DA' } @asg) {
			my ($days, $days_ended) = (0, 0);
			for my $d ($cs .. $ce) {
				next unless $self->asg_covers_day($a, $d);
				$days++;
				$days_ended++ if $d <= $ended_to;
			}
			$hours += $a->{estimate} * R($days) / R($year_days);
			$hours_ended += $a->{estimate} * R($days_ended) / R($year_days);
		}
		if ($hours > $cap) {
			push @f, finding('investigator_cap_exceeded', 'violation', $p->{id}, undef, $cs, $ce, $hours - $cap);
		} elsif ($n >= 1 && $n < 12) {
			my $projected = $hours_ended / R($n) * R(12);
			push @f, finding('investigator_cap_projected', 'warning', $p->{id}, undef, $cs, $ce, $projected - $cap)
				if $projected > $cap;
		}
	}
	return @f;
}

# RGC 8.0: research staff (researcher, fellow) teach at most
# teaching_weekly_hours × FTE a week on average over the ended months of
# the assignment that have a timesheet.
# AMBIGUOUS: the assignment "has ended" when its last day (its grant's for
# an open-ended one) is before as_of; an assignment open without end (its
# grant unknown or without an end) has period_end 9999-12-31, the last day
# a date may name (docs/rules.md, reading 10; a finding's period always has
# an end).
sub teaching_rules {
	my ($self, $p, $as_of) = @_;
	my @f;
	for my $a (grep { $_->{role} eq 'researcher' || $_->{role} eq 'fellow' } $self->assignments_of($p->{id})) {
		my $end = $self->asg_end($a);
		my $last = defined $end && $end < $as_of - 1 ? $end : $as_of - 1;
		next if $last < $a->{start};
		my ($days, $taught) = (0, 0);
		for my $ym (months_between($a->{start}, $last)) {
			next unless month_last(@$ym) < $as_of;
			my @ts = $self->month_timesheets($p->{id}, @$ym);
			next unless @ts;
			$days += days_in_month(@$ym);
			for my $t (@ts) { $taught += $_->{hours} for grep { $_->{kind} eq 'teaching' } @{ $t->{v}{entries} } }
		}
		next unless $days;
		my $limit = R($self->{s}{teaching_weekly_hours}) * $p->{fte} * R($days) / R(7);
		$taught = H($taught);
		next unless $taught > $limit;
		my $sev = defined $end && $end < $as_of ? 'violation' : 'warning';
		push @f, finding('teaching_excess', $sev, $p->{id}, $a->{grant}, $a->{start}, $end // dn('9999-12-31'),
			$taught - $limit);
	}
	return @f;
}


# ------------------------------------------------------------------ exact rationals

# Numerator and denominator as native integers, reduced; an operation whose
# result would not fit exactly dies rather than lose precision.
package RulesModel::Q;

use overload
	'+' => sub { $_[0]->add(_q($_[1])) },
	'-' => sub { $_[2] ? _q($_[1])->add($_[0]->neg) : $_[0]->add(_q($_[1])->neg) },
	'*' => sub { $_[0]->mul(_q($_[1])) },
	'/' => sub { $_[2] ? _q($_[1])->mul($_[0]->inv) : $_[0]->mul(_q($_[1])->inv) },
	'<=>' => sub { my $c = $_[0]->cmp(_q($_[1])); $_[2] ? -$c : $c },
	'""' => sub { "$_[0][0]/$_[0][1]" };

use constant LIMIT => 2**62;

# Integer division and remainder (exact: Perl's / is a floating-point one).
sub _div { use integer; $_[0] / $_[1] }
sub _mod { use integer; $_[0] % $_[1] }
sub _gcd { my ($a, $b) = (abs $_[0], abs $_[1]); ($a, $b) = ($b, _mod($a, $b)) while $b; $a || 1 }
sub _q { ref $_[0] ? $_[0] : __PACKAGE__->parse("$_[0]") }
sub _checked {
	my ($x, $y) = @_;    # $x * $y, exactly or not at all
	die "RulesModel::Q: $x * $y does not fit a native integer\n" if abs($x) * 1.0 * abs($y) >= LIMIT;
	return $x * $y;
}

sub new {
	my ($class, $n, $d) = @_;
	die "RulesModel::Q: zero denominator\n" unless $d;
	($n, $d) = (-$n, -$d) if $d < 0;
	my $g = _gcd($n, $d);
	return bless [ _div($n, $g), _div($d, $g) ], $class;
}

sub parse {
	my ($class, $t) = @_;
	my ($sign, $int, $frac, $exp) = $t =~ /\A\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*\z/
		or die "RulesModel::Q: not a number: $t\n";
	$frac //= '';
	$frac =~ s/0+\z//;
	my $n = 0 + (($int || 0) . $frac);    # the digits without the point, an integer
	my $scale = ($exp // 0) - length $frac;    # n × 10^scale
	die "RulesModel::Q: $t is out of range\n" if $scale > 12 || $scale < -15;
	$n = -$n if $sign eq '-';
	return $scale >= 0 ? $class->new(_checked($n, 0 + ('1' . '0' x $scale)), 1) : $class->new($n, 0 + ('1' . '0' x -$scale));
}

sub neg { RulesModel::Q->new(-$_[0][0], $_[0][1]) }
sub inv { RulesModel::Q->new($_[0][1], $_[0][0]) }

sub add {
	my ($x, $y) = @_;
	my $g = _gcd($x->[1], $y->[1]);
	my $l = _checked(_div($x->[1], $g), $y->[1]);
	my ($a, $b) = (_checked($x->[0], _div($l, $x->[1])), _checked($y->[0], _div($l, $y->[1])));
	die "RulesModel::Q: sum too large\n" if abs($a * 1.0 + $b) >= LIMIT;
	return RulesModel::Q->new($a + $b, $l);
}

sub mul {
	my ($x, $y) = @_;
	my ($g1, $g2) = (_gcd($x->[0], $y->[1]), _gcd($y->[0], $x->[1]));
	return RulesModel::Q->new(_checked(_div($x->[0], $g1), _div($y->[0], $g2)), _checked(_div($x->[1], $g2), _div($y->[1], $g1)));
}

sub cmp {
	my ($x, $y) = @_;
	my $d = $x->add($y->neg);
	return $d->[0] <=> 0;
}

# The largest integer not above it.
sub floor {
	my ($x) = @_;
	my ($n, $d) = @$x;
	my $q = _div($n, $d);    # towards zero
	$q-- if $n < 0 && $q * $d != $n;
	return $q;
}

sub copy { RulesModel::Q->new(@{ $_[0] }) }

1;
