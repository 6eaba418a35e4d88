# Randomized agreement of the reports with the violations list (issue 14):
# bench/gen builds small organisations with varied seeds and a rich mix of
# problems (MIX), loaded over HTTP into one effortd each; at as_of dates
# before, on and after authorisation deadlines and cap-year boundaries,
# every figure of every report must be what GET /v1/violations (the audit
# engine's findings, evaluated on the fly for that date) implies:
#   - grant reconciliation, per person-month: activity_missing /
#     unevidenced_charge exactly where charged and recorded say so, with
#     those hours; each timesheet's on_time / valid / overdue / due as its
#     authorisation findings; evidenced and unevidenced from them; the
#     report's findings those of the list;
#   - investigators: the finding and its hours as the list's cap findings,
#     every cap finding in a report; hours that add up; the timesheet hours
#     of ended months as the grant reports' recorded hours;
#   - compliance: the findings per rule and severity (count, hours) as the
#     list's, per organisation and summed over line managers; missing and
#     overdue person-months as the list's timesheet_missing and
#     authorisation_overdue findings;
#   - every (rule, severity) raised is one of common/rules.c's table.
use strict;
use warnings;

use FindBin;
use File::Temp qw(tempdir);
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd slurp);

my $top = "$FindBin::Bin/../..";
my $tol = 0.011;    # a row's rounded figures against a rounded difference

# (seed, staff, months, mix): months end September 2026; seeds whose
# organisation has a PI over the cap (95 % on a DI grant and a DA estimate).
my @orgs = ([ 6, 40, 15, 8 ], [ 12, 40, 14, 8 ], [ 22, 40, 13, 8 ]);
# before, on and after September's deadline (30 November: due that day); around the
# cap-year boundary (1 August); mid-month; a month-end deadline in spring.
my @dates = qw(2026-03-31 2026-07-31 2026-08-01 2026-10-01 2026-11-30 2026-12-01);

# The severities of each rule in common/rules.c's table.
my %severities;
my $rule_table = slurp("$top/common/rules.c");
while ($rule_table =~ /X\("(\w+)",\s*"([\w ]+)",/g) {
	$severities{$1} = { map { $_ => 1 } split ' ', $2 };
}
cmp_ok scalar(keys %severities), '==', 14, 'the rule table has 14 rules';

sub near { abs($_[0] - $_[1]) <= $tol }
sub month_end {
	my ($m) = @_;
	my ($y, $mo) = split /-/, $m;
	my $d = (31, ($y % 4 == 0 ? 29 : 28), 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[$mo - 1];
	return sprintf '%s-%02d', $m, $d;
}

my %seen_rules;
for my $org (@orgs) {
	my ($seed, $staff, $months, $mix) = @$org;
	my $dir = tempdir(CLEANUP => 1);
	system("$top/bench/gen", $dir, $staff, $months, 1000, $seed, 1, $mix) == 0 or die "bench/gen failed\n";
	my $db = new_db();
	my $d = start_effortd(db => $db);
	my $feed = $d->token('feed');
	for my $f ('people.json', 'grants.json', 'assignments.json', 'delegations.json',
		(map { s{.*/}{}r } sort glob "$dir/charges-*.json"), (map { s{.*/}{}r } sort glob "$dir/ts-*.json")) {
		my $path = '/v1/' . ($f =~ /^ts-/ ? 'timesheets' : $f =~ /^charges/ ? 'charges' : $f =~ s/\.json$//r);
		my ($s, $j) = $d->req(POST => $path, token => $feed, body => slurp("$dir/$f"));
		$s == 200 or BAIL_OUT("seed $seed: POST $path: $s");
	}
	my $rev = $d->token('reviewer');
	my $get = sub {
		my ($path, %q) = @_;
		my ($s, $j) = $d->req(GET => $path, token => $rev, query => \%q);
		$s == 200 or die "GET $path: $s\n";
		return $j;
	};
	my @grants = map { $_->{grant_ref} } @{ EffortTest::json_decode(slurp("$dir/grants.json")) };
	my $org_name = "seed $seed ($staff staff, $months months, mix $mix)";

	for my $as_of (@dates) {
		my $at = "$org_name as of $as_of";
		my @v = @{ $get->('/v1/violations', as_of => $as_of)->{violations} };
		my %by_key;    # rule person grant start end -> finding
		for my $f (@v) {
			$by_key{ join ' ', $f->{rule}, $f->{person_id}, $f->{grant_ref} // '', $f->{period_start}, $f->{period_end} } = $f;
			$seen_rules{ $f->{rule} }++;
		}
		my @bad_sev = grep { !$severities{ $_->{rule} }{ $_->{severity} } } @v;
		is scalar(@bad_sev), 0, "$at: every rule and severity is in the rule table"
			or diag explain [ @bad_sev[ 0 .. 2 ] ];

		# -------------------------------------------------------- grant reconciliation
		my (%charge_seen, %auth_seen, %recorded_ended);
		my @errors;
		for my $g (@grants) {
			my $r = $get->('/v1/reports/grants/' . $g =~ s{/}{%2F}gr, as_of => $as_of);
			my ($tc, $tr, $te, $tu) = (0, 0, 0, 0);
			for my $p (@{ $r->{people} }) {
				for my $m (@{ $p->{months} }) {
					my ($start, $end) = ("$m->{month}-01", month_end($m->{month}));
					my $k = "$p->{person_id} $g $start $end";
					my $am = $by_key{"activity_missing $k"};
					my $uc = $by_key{"unevidenced_charge $k"};
					$charge_seen{"activity_missing $k"} = $charge_seen{"unevidenced_charge $k"} = 1;
					if ($m->{charged} > 0 && $m->{recorded} == 0) {
						push @errors, "$k: charged, nothing recorded, no activity_missing of $m->{charged} h"
							unless $am && near($am->{hours}, $m->{charged});
					} elsif ($am) {
						push @errors, "$k: activity_missing but $m->{recorded} h recorded";
					}
					my $short = $m->{charged} - $m->{recorded};
					if ($m->{recorded} > 0 && $short > 0.5 + $tol) {
						push @errors, "$k: $short h unevidenced, no unevidenced_charge"
							unless $uc && near($uc->{hours}, $short);
					} elsif ($uc && !($m->{recorded} > 0 && $short > 0.5 - $tol)) {
						push @errors, "$k: unevidenced_charge of $uc->{hours} h but charged $m->{charged}, recorded $m->{recorded}";
					}
					$recorded_ended{"$p->{person_id} $g $m->{month}"} = $m->{recorded};
					# each timesheet's checks as its authorisation findings
					my $ok = @{ $m->{timesheets} } > 0;
					for my $t (@{ $m->{timesheets} }) {
						my $tk = "$p->{person_id}  $t->{period_start} $t->{period_end}";
						my %has = map { $_ => exists $by_key{"authorisation_$_ $tk"} } qw(overdue due late invalid);
						$auth_seen{"authorisation_$_ $tk"} = 1 for keys %has;
						my $auth = $t->{status} eq 'authorised';
						push @errors, "$tk: on_time $t->{on_time} against late finding $has{late}"
							if $auth && ($t->{on_time} ? 1 : 0) == ($has{late} ? 1 : 0);
						push @errors, "$tk: valid $t->{valid} against invalid finding $has{invalid}"
							if $auth && ($t->{valid} ? 1 : 0) == ($has{invalid} ? 1 : 0);
						push @errors, "$tk: not authorised, deadline $t->{deadline}, overdue finding $has{overdue}"
							if !$auth && ($as_of gt $t->{deadline} ? 1 : 0) != ($has{overdue} ? 1 : 0);
						push @errors, "$tk: authorised but an overdue or due finding"
							if $auth && ($has{overdue} || $has{due});
						$ok &&= $auth && $t->{on_time} && $t->{valid};
					}
					push @errors, "$k: evidence_ok $m->{evidence_ok} but the findings say " . ($ok ? 1 : 0)
						if ($m->{evidence_ok} ? 1 : 0) != ($ok ? 1 : 0);
					my $ev = $ok ? ($m->{charged} < $m->{recorded} ? $m->{charged} : $m->{recorded}) : 0;
					push @errors, "$k: evidenced $m->{evidenced}, expected $ev" unless near($m->{evidenced}, $ev);
					push @errors, "$k: unevidenced" unless near($m->{unevidenced}, $m->{charged} - $m->{evidenced});
					$tc += $m->{charged}; $tr += $m->{recorded}; $te += $m->{evidenced}; $tu += $m->{unevidenced};
				}
			}
			push @errors, "$g: totals" unless near($r->{totals}{charged}, $tc) && near($r->{totals}{recorded}, $tr)
				&& near($r->{totals}{evidenced}, $te) && near($r->{totals}{unevidenced}, $tu);
			# the report's findings: the list's on the grant, or on no grant in a month of the person's rows
			my %rows_of;
			push @{ $rows_of{ $_->{person_id} } }, map { $_->{month} } @{ $_->{months} } for @{ $r->{people} };
			my @want = sort map { "$_->{rule} $_->{person_id} $_->{period_start} $_->{hours}" } grep {
				my $f = $_;
				($f->{grant_ref} // '') eq $g
				|| (!defined $f->{grant_ref} && grep { "$_-01" le $f->{period_end} && month_end($_) ge $f->{period_start} }
					@{ $rows_of{ $f->{person_id} } // [] })
			} @v;
			my @got = sort map { "$_->{rule} $_->{person_id} $_->{period_start} $_->{hours}" } @{ $r->{findings} };
			push @errors, "$g: findings differ from the list's" unless "@want" eq "@got";
		}
		# every charge and authorisation finding of a grant's people is on some row
		for my $k (keys %by_key) {
			my $f = $by_key{$k};
			push @errors, "$k: charge finding on no grant report row"
				if $f->{rule} =~ /^(activity_missing|unevidenced_charge)$/ && !$charge_seen{$k}
				&& grep { $_ eq $f->{grant_ref} } @grants;
		}
		is_deeply [ @errors[ 0 .. ($#errors < 9 ? $#errors : 9) ] ], [], "$at: grant reconciliation agrees with the violations";

		# -------------------------------------------------------- investigators
		@errors = ();
		my %cap = map { ("$_->{person_id} $_->{period_start}" => $_) } grep { $_->{rule} =~ /^investigator_cap_/ } @v;
		my %cap_seen;
		for my $year (2024, 2025, 2026) {
			my $r = $get->('/v1/reports/investigators', year => $year, as_of => $as_of);
			for my $i (@{ $r->{investigators} }) {
				my $k = "$i->{person_id} $r->{cap_year_start}";
				my $f = $cap{$k};
				$cap_seen{$k} = 1;
				push @errors, "$k: finding " . ($i->{finding} // 'none') . ", list " . ($f ? $f->{rule} : 'none')
					if ($i->{finding} // '') ne ($f ? $f->{rule} : '');
				push @errors, "$k: finding hours $i->{finding_hours} against $f->{hours}"
					if $f && !near($i->{finding_hours}, $f->{hours});
				my $want = !defined $i->{finding} ? undef
					: $i->{finding} eq 'investigator_cap_exceeded' ? $i->{grant_hours} - $i->{cap}
					: $i->{projection} - $i->{cap};
				push @errors, "$k: finding hours are not the report's own figures"
					if defined $want && !near($i->{finding_hours}, $want);
				push @errors, "$k: over the cap with no finding"
					if $r->{cap_year_start} le $as_of && !$f && $i->{grant_hours} > $i->{cap} + $tol;
				my ($sum, $ended_ts) = (0, 0);
				for my $gh (@{ $i->{grants} }) {
					$sum += $gh->{hours};
					next unless $gh->{source} eq 'timesheets';
					# ended months' timesheet hours: the grant reports' recorded hours
					my $rec = 0;
					for my $k2 (keys %recorded_ended) {
						my ($p, $gr, $mon) = split ' ', $k2;
						$rec += $recorded_ended{$k2}
							if $p eq $i->{person_id} && $gr eq $gh->{grant_ref}
							&& "$mon-01" ge $r->{cap_year_start} && "$mon-01" le $r->{cap_year_end};
					}
					push @errors, "$k $gh->{grant_ref}: ended months' hours $gh->{ended_months_hours}, grant report $rec"
						if grep { $_ eq $gh->{grant_ref} } @grants and !near($gh->{ended_months_hours}, $rec);
				}
				push @errors, "$k: grants add to $sum, not $i->{grant_hours}" unless near($sum, $i->{grant_hours});
				push @errors, "$k: headroom" unless near($i->{headroom}, $i->{cap} - $i->{grant_hours});
				# (from the rounded ended_months_hours: its rounding times 12 / n)
				push @errors, "$k: projection"
					if $i->{ended_months} >= 1
					&& abs($i->{projection} - $i->{ended_months_hours} / $i->{ended_months} * 12)
					   > 0.006 * (1 + 12 / $i->{ended_months});
			}
		}
		push @errors, map { "$_: cap finding in no investigators report" } grep { !$cap_seen{$_} } sort keys %cap;
		is_deeply [ @errors[ 0 .. ($#errors < 9 ? $#errors : 9) ] ], [], "$at: investigators agree with the violations";

		# -------------------------------------------------------- compliance
		@errors = ();
		my ($from, $to) = ('2025-06-01', '2026-09-30');
		my $c = $get->('/v1/reports/compliance', from => $from, to => $to, as_of => $as_of);
		my @in = grep { $_->{period_start} le $to && $_->{period_end} ge $from } @v;
		my %want;
		for my $f (@in) {
			my $w = $want{"$f->{rule} $f->{severity}"} //= [ 0, 0 ];
			$w->[0]++;
			$w->[1] += $f->{hours};
		}
		my %got = map { ("$_->{rule} $_->{severity}" => [ $_->{count}, $_->{hours} ]) } @{ $c->{organisation}{findings} };
		for my $k (sort keys %{ { %want, %got } }) {
			my ($w, $g) = ($want{$k} // [ 0, 0 ], $got{$k} // [ 0, 0 ]);
			push @errors, "organisation $k: $g->[0] findings, $g->[1] h; the list $w->[0], $w->[1] h"
				unless $w->[0] == $g->[0] && near($w->[1], $g->[1]);
		}
		my %mgr;
		for my $lm (@{ $c->{line_managers} }) {
			for my $f (@{ $lm->{findings} }) {
				my $m = $mgr{"$f->{rule} $f->{severity}"} //= [ 0, 0 ];
				$m->[0] += $f->{count};
				$m->[1] += $f->{hours};
			}
		}
		for my $k (sort keys %want) {
			push @errors, "line managers $k: " . ($mgr{$k} // [0])->[0] . " findings, the list $want{$k}[0]"
				unless $mgr{$k} && $mgr{$k}[0] == $want{$k}[0] && near($mgr{$k}[1], $want{$k}[1]);
		}
		my $missing = grep { $_->{rule} eq 'timesheet_missing' } @in;
		push @errors, "missing $c->{organisation}{missing}, the list's timesheet_missing $missing"
			unless $c->{organisation}{missing} == $missing;
		# a month the list calls missing is one that needed a timesheet and has none
		# (the list implies no more of "required": months kept in full are not listed)
		push @errors, "required $c->{organisation}{required}, below the list's timesheet_missing $missing"
			unless $c->{organisation}{required} >= $missing;
		my $required = 0;
		$required += $_->{required} for @{ $c->{line_managers} };
		push @errors, "required: line managers $required, organisation $c->{organisation}{required}"
			unless $required == $c->{organisation}{required};
		my %overdue_months = map { (substr($_->{period_start}, 0, 7) . " $_->{person_id}" => 1) }
			grep { $_->{rule} eq 'authorisation_overdue' } @in;
		my %missing_months = map { (substr($_->{period_start}, 0, 7) . " $_->{person_id}" => 1) }
			grep { $_->{rule} eq 'timesheet_missing' } @in;
		my $overdue = grep { !$missing_months{$_} } keys %overdue_months;
		push @errors, "overdue $c->{organisation}{overdue}, the list's authorisation_overdue months $overdue"
			unless $c->{organisation}{overdue} == $overdue;
		is_deeply \@errors, [], "$at: compliance agrees with the violations";
	}
	$d->stop if $d->can('stop');
}
# the mix reaches the rules the figures depend on
for my $rule (qw(timesheet_missing activity_missing unevidenced_charge authorisation_overdue
	authorisation_due authorisation_late authorisation_invalid investigator_cap_exceeded
	investigator_cap_projected unassigned_grant_hours)) {
	ok $seen_rules{$rule}, "the generated organisations raise $rule";
}

done_testing;
