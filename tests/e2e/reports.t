# make check-e2e: each HTML report served by a real effortd (private
# PostgreSQL, the sample organisation), fetched with a reviewer token into a
# file and opened by headless Chromium from file://: the screenshot must not
# be blank (more than one colour) and the rendered DOM (--dump-dom) must hold
# the report's title and its SVG chart elements.  E2E_SCREENSHOT_DIR=dir
# keeps the screenshots (docs/img/report-grant.png comes from here).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use IO::Uncompress::Inflate qw(inflate $InflateError);
use Test::More;
use EffortTest qw(start_effortd load_sample slurp spew);

my ($chromium) = grep { -x } qw(/usr/bin/chromium /usr/bin/chromium-browser);
plan skip_all => 'chromium not installed (scripts/install-deps installs it)' unless $chromium;

my $d = start_effortd();
load_sample($d);
$d->req(POST => '/v1/timesheets', token => $d->token('feed'), body => slurp(EffortTest::sample_file('amendments')));
my $tok = $d->token('reviewer');
my $dir = tempdir('e2e.XXXXXX', DIR => $EffortTest::TMP, CLEANUP => 1);

sub chromium {
	my (@args) = @_;
	my $profile = tempdir('chrome.XXXXXX', DIR => $dir, CLEANUP => 1);
	my @cmd = ($chromium, qw(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
		--disable-background-networking --disable-component-update --disable-sync
		--disable-dev-shm-usage --hide-scrollbars), "--user-data-dir=$profile", @args);
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if (!$pid) {
		open STDERR, '>', '/dev/null';
		exec @cmd or exit 127;
	}
	local $/;
	my $out = <$fh> // '';
	close $fh;
	return ($? >> 8, $out);
}

# The distinct colours of a PNG (8-bit RGB/RGBA, non-interlaced, as
# Chromium writes them), at most $max of them counted.
sub png_colours {
	my ($file, $max) = @_;
	my $png = slurp($file);
	return -1 unless substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n";
	my ($pos, $idat, $w, $h, $depth, $type) = (8, '');
	while ($pos < length $png) {
		my ($len, $t) = unpack 'Na4', substr($png, $pos, 8);
		my $data = substr($png, $pos + 8, $len);
		($w, $h, $depth, $type) = unpack 'NNCC', $data if $t eq 'IHDR';
		$idat .= $data if $t eq 'IDAT';
		$pos += 12 + $len;
	}
	return -2 unless $depth == 8 && ($type == 2 || $type == 6);
	my $bpp = $type == 6 ? 4 : 3;
	inflate(\$idat => \my $raw) or die "inflate: $InflateError";
	my $stride = $w * $bpp;
	my (%seen, $prev);
	$prev = "\0" x $stride;
	for my $y (0 .. $h - 1) {
		my $f = ord substr($raw, $y * ($stride + 1), 1);
		my @line = unpack 'C*', substr($raw, $y * ($stride + 1) + 1, $stride);
		my @up = unpack 'C*', $prev;
		for my $i (0 .. $#line) {
			my $a = $i >= $bpp ? $line[$i - $bpp] : 0;
			my $b = $up[$i];
			my $c = $i >= $bpp ? $up[$i - $bpp] : 0;
			if ($f == 1) { $line[$i] = ($line[$i] + $a) & 255 }
			elsif ($f == 2) { $line[$i] = ($line[$i] + $b) & 255 }
			elsif ($f == 3) { $line[$i] = ($line[$i] + (($a + $b) >> 1)) & 255 }
			elsif ($f == 4) {
				my $p = $a + $b - $c;
				my ($pa, $pb, $pc) = (abs($p - $a), abs($p - $b), abs($p - $c));
				$line[$i] = ($line[$i] + ($pa <= $pb && $pa <= $pc ? $a : $pb <= $pc ? $b : $c)) & 255;
			}
		}
		$prev = pack 'C*', @line;
		for (my $x = 0; $x < $w; $x += 7) {    # every 7th pixel is plenty
			$seen{ substr($prev, $x * $bpp, 3) } = 1;
		}
		return scalar keys %seen if keys %seen >= $max;
	}
	return scalar keys %seen;
}

my @reports = (
	[ 'grant', '/v1/reports/grants/EP%2FX012345%2F1', 'Grant reconciliation: EP/X012345/1', 1 ],
	[ 'evidence', '/v1/reports/grants/EP%2FX012345%2F1/evidence', 'Evidence pack: EP/X012345/1', 0 ],
	[ 'investigators', '/v1/reports/investigators?year=2025', 'Investigator hours: cap year 2025-08-01 to 2026-07-31', 1 ],
	[ 'compliance', '/v1/reports/compliance?from=2025-10-01&to=2026-09-30', 'Timesheet compliance: 2025-10-01 to 2026-09-30', 0 ],
);
for my $r (@reports) {
	my ($name, $path, $title, $svgs) = @$r;
	my ($s, $body, $res) = $d->req(GET => $path . ($path =~ /\?/ ? '&' : '?') . 'format=html&as_of=2026-10-01', token => $tok);
	is $s, 200, "$name: effortd serves the HTML report";
	my $html = "$dir/$name.html";
	spew($html, $res->{content});
	my $png = "$dir/$name.png";
	my ($rc) = chromium("--screenshot=$png", '--window-size=1280,2000', "file://$html");
	ok -s $png, "$name: Chromium took a screenshot (exit $rc)";
	my $colours = -s $png ? png_colours($png, 16) : 0;
	cmp_ok $colours, '>=', 8, "$name: the screenshot is not blank ($colours colours seen)";
	my ($rc2, $dom) = chromium('--dump-dom', "file://$html");
	like $dom, qr{<title>\Q$title\E</title>}, "$name: rendered DOM has the title";
	like $dom, qr{<h1>\Q$title\E</h1>}, "$name: ... and the heading";
	my @svg = $dom =~ /<svg\b/g;
	is scalar(@svg), $svgs, "$name: ... $svgs SVG chart(s)";
	if ($svgs) {
		my @rect = $dom =~ /<rect\b/g;
		cmp_ok scalar(@rect), '>=', 4, "$name: ... with bars (" . scalar(@rect) . ' rect elements)';
	}
	if (my $keep = $ENV{E2E_SCREENSHOT_DIR}) {
		spew("$keep/report-$name.png", slurp($png));
	}
}

done_testing;
