package ModelOrg;

# Organisations fed both to a real effortd and to the independent model of
# the rulebook (tests/lib/RulesModel.pm), and the comparison of their
# findings: what tests/t/model.t does, as helpers for tests that build
# organisations by hand (tests/t/rules_edges3.t).
#
#   my $o = ModelOrg::org(%rule_settings);       # effortd + model, same settings
#   feed($o, 'people', [ person(...) ]);         # posts, dies unless 200
#   my ($diff, $n) = differences($o, $as_of);    # [] when they agree
#   decide_api($o, $manager, 'approve', $person, $start, $end);
#   agrees($o, $name, @dates);                   # one test per date
#   finding_at($o, $as_of, $rule, $person, $grant, $start) # "violation 2.25"

use strict;
use warnings;

use Exporter 'import';
use Test::More ();
use Time::HiRes qw(time);
use EffortTest qw(new_db start_effortd json_encode);
use RulesModel;

our @EXPORT_OK = qw(org feed differences agrees finding_at person grant asg charge ts full_month ts_id decide_api);

# An effortd on a fresh database with its model (same settings).
sub org {
	my (%settings) = @_;
	my $d = start_effortd(db => new_db(), map { ("rules.$_" => $settings{$_}) } keys %settings);
	return { d => $d, m => RulesModel->new(%settings), feed => $d->token('feed'), rev => $d->token('reviewer') };
}

# Posts records to a feed and gives them to the model; dies unless 200 with
# the counts the model expects for timesheets.
sub feed {
	my ($o, $name, $records) = @_;
	my ($s, $j) = $o->{d}->req(POST => "/v1/$name", token => $o->{feed}, body => $records);
	die "POST /v1/$name: $s " . json_encode($j) . "\n" unless $s == 200;
	my $now = time;
	if ($name eq 'timesheets') {
		my @a = $o->{m}->timesheets($records, $now);
		my %n;
		$n{$_}++ for @a;
		my $want = join ' ', map { $n{$_} // 0 } qw(created updated unchanged);
		my $got = join ' ', map { $j->{$_} } qw(created updated unchanged);
		die "POST /v1/timesheets: effortd answered created/updated/unchanged $got, the model $want\n" if $want ne $got;
	} else {
		$o->{m}->$name($records, $now);
	}
	return $j;
}

# The rows of GET /v1/violations?as_of=D against the model's, as a list of
# readable differences (empty when they agree), and the model's count.
sub differences {
	my ($o, $as_of) = @_;
	my ($s, $j) = $o->{d}->req(GET => '/v1/violations', token => $o->{rev}, query => { as_of => $as_of });
	die "GET /v1/violations: $s\n" unless $s == 200;
	my $key = sub { join ' ', $_[0]{rule}, $_[0]{person_id}, $_[0]{grant_ref} // '-', $_[0]{period_start}, $_[0]{period_end} // '-' };
	my %got = map { ($key->($_) => $_) } @{ $j->{violations} };
	# API.md: sorted by person_id, period_start, rule, grant_ref (docs/rules.md:
	# bytewise, a null grant_ref first)
	my @order = map { join "\0", $_->{person_id}, $_->{period_start}, $_->{rule}, $_->{grant_ref} // '' } @{ $j->{violations} };
	my ($unsorted) = grep { $order[ $_ - 1 ] gt $order[$_] } 1 .. $#order;
	my %want = map { ($key->($_) => $_) } $o->{m}->findings($as_of);
	my @diff;
	for my $k (sort keys %{ { %got, %want } }) {
		my ($g, $w) = ($got{$k}, $want{$k});
		if (!$g) {
			push @diff, "missing  $k: model $w->{severity} $w->{hours} h";
		} elsif (!$w) {
			push @diff, "extra    $k: effortd $g->{severity} $g->{hours} h ($g->{detail})";
		} elsif ($g->{severity} ne $w->{severity} || sprintf('%.2f', $g->{hours}) ne $w->{hours}) {
			push @diff, "differs  $k: effortd $g->{severity} " . sprintf('%.2f', $g->{hours})
				. " h, model $w->{severity} $w->{hours} h ($g->{detail})";
		}
	}
	unshift @diff, "order    row $unsorted is listed before row " . ($unsorted - 1) if $unsorted;
	return (\@diff, scalar keys %want);
}

# A test per date: effortd lists the model's findings (differences());
# returns how many findings were compared.
sub agrees {
	my ($o, $name, @dates) = @_;
	my $compared = 0;
	for my $as_of (@dates) {
		my ($diff, $n) = differences($o, $as_of);
		$compared += $n;
		Test::More::ok(!@$diff, "$name as of $as_of: effortd lists the model's $n findings")
			or Test::More::diag(join "\n", @$diff);
	}
	return $compared;
}

# One finding as effortd lists it, "severity hours" (hours to the
# hundredth), undef when there is none; $grant undef for a finding without
# one, $start (period_start) needed when the rule has several.
sub finding_at {
	my ($o, $as_of, $rule, $person, $grant, $start) = @_;
	my ($s, $j) = $o->{d}->req(GET => '/v1/violations', token => $o->{rev}, query => { as_of => $as_of, person_id => $person });
	die "GET /v1/violations: $s\n" unless $s == 200;
	my @f = grep { $_->{rule} eq $rule && ($_->{grant_ref} // '') eq ($grant // '')
		&& (!defined $start || $_->{period_start} eq $start) } @{ $j->{violations} };
	die "GET /v1/violations: " . scalar(@f) . " $rule findings of $person\n" if @f > 1;
	return @f ? "$f[0]{severity} " . sprintf('%.2f', $f[0]{hours}) : undef;
}

sub person {
	my ($id, $lm, $fte, $start, $end) = @_;
	return { person_id => $id, name => "Person $id", email => undef, line_manager_id => $lm, fte => $fte,
		employment_start => $start, employment_end => $end };
}
sub grant { { grant_ref => $_[0], title => "Grant $_[0]", funder => 'UKRI', start_date => $_[1], end_date => $_[2] } }
sub asg {
	my ($p, $g, $role, $cost, $start, $end, $share, $est) = @_;
	return { person_id => $p, grant_ref => $g, role => $role, cost_type => $cost, start_date => $start,
		end_date => $end, fte_share => $share, estimated_hours_per_year => $est };
}
sub charge {
	my ($p, $g, $month, $what, $v) = @_;
	return { person_id => $p, grant_ref => $g, month => $month, $what => $v };
}
# A timesheet: period 'YYYY-MM' (the month) or [start, end]; entries as
# [kind, activity, hours]; sub/by/at/reason optional.
sub ts {
	my ($p, $period, $entries, %o) = @_;
	my ($ps, $pe) = ref $period ? @$period
		: ("$period-01", RulesModel::ds(RulesModel::month_last(split /-/, $period)));
	return { person_id => $p, period_start => $ps, period_end => $pe,
		submitted_at => $o{sub} // "${pe}T17:00:00Z",
		entries => [ map { { kind => $_->[0], activity => $_->[1], hours => $_->[2] } } @$entries ],
		defined $o{by} ? (authorised_by => $o{by}, authorised_at => $o{at}) : (),
		defined $o{reason} ? (amendment_reason => $o{reason}) : () };
}
# A full month's entries for fte 1.0: the grant hours given, the rest research.
sub full_month {
	my ($month, @grant) = @_;
	my ($y, $m) = split /-/, $month;
	my $wd = grep { RulesModel::is_weekday($_) } RulesModel::month_first($y, $m) .. RulesModel::month_last($y, $m);
	my $rest = 7.5 * $wd;
	$rest -= $_->[1] for @grant;
	return [ (map { [ 'grant', @$_ ] } @grant), [ 'research', 'research', $rest ] ];
}

# The id of a person's (current) timesheet for a period.
sub ts_id {
	my ($o, $p, $ps) = @_;
	my ($s, $j) = $o->{d}->req(GET => '/v1/timesheets', token => $o->{rev}, query => { person_id => $p, month => substr($ps, 0, 7) });
	my ($t) = grep { $_->{period_start} eq $ps } @{ $j->{timesheets} };
	die "no timesheet $p $ps\n" unless $t;
	return $t->{id};
}

# An approval or rejection through the API by a manager, given to the model;
# dies unless 200.
sub decide_api {
	my ($o, $manager, $what, $p, $ps, $pe) = @_;
	my ($s, $j) = $o->{d}->req(POST => '/v1/timesheets/' . ts_id($o, $p, $ps) . "/$what",
		token => $o->{d}->token('manager', $manager), $what eq 'reject' ? (body => { reason => 'wrong grant' }) : ());
	die "$what $p $ps by $manager: $s " . json_encode($j) . "\n" unless $s == 200;
	my $t = $j->{timesheet};
	$o->{m}->decide($p, $ps, $pe, $what eq 'approve' ? ('authorised', $t->{authorised_by}, $t->{authorised_at}) : ('rejected'));
}

1;
