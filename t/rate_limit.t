# rate_limit through real nginx (2 workers) to a mock upstream: admitted
# counts within the GCRA bound, delay mode, exact 429 headers,
# $rate_limit_status, empty keys, several limits, LRU eviction, reloads,
# the counters of integrations_status.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use POSIX qw(floor ceil);
use Time::HiRes qw(sleep time);

use Gateway;
use MockServer;

my $VG = $ENV{VALGRIND};

my $gw = Gateway->new(workers => 2);

my $up = MockServer->new(port => $gw->port('up'), handler => sub {
    return (200, { 'Content-Type' => 'text/plain' }, "ok\n");
});

my $conf = <<'CONF';
    rate_limit_zone  flood    zone=flood:1m rate=10r/s burst=5;
    rate_limit_zone  shape    zone=shape:1m rate=10r/s burst=5;
    rate_limit_zone  minute   zone=minute:1m rate=1r/m burst=1;
    rate_limit_zone  $http_x_api_key zone=apikey:1m rate=1r/m;
    rate_limit_zone  $http_x_key zone=tiny:32k rate=1r/m;
    rate_limit_zone  $http_x_key zone=quick:32k rate=100r/s;
    rate_limit_zone  global   zone=global:1m rate=3r/m burst=2;
    rate_limit_zone  kept     zone=kept:1m rate=1r/m;
    rate_limit_zone  fifty    zone=fifty:1m rate=50r/s;
    rate_limit_zone  fiftyx   zone=fiftyx:1m rate=50r/s;
    rate_limit_zone  paced    zone=paced:1m rate=50r/s;
    rate_limit_zone  hundred  zone=hundred:1m rate=100r/m burst=99;
    rate_limit_zone  early    zone=early:1m rate=1r/m;

    add_header  X-RL-Status  $rate_limit_status  always;

    server {
        listen 127.0.0.1:%%PORT:gw%%;

        location /flood/   { rate_limit zone=flood;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /shape/   { rate_limit zone=shape delay;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /minute/  { rate_limit zone=minute;
                             rate_limit_headers on;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /legacy/  { rate_limit zone=minute;
                             rate_limit_headers legacy;
                             rate_limit_status 503;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /apikey/  { rate_limit zone=apikey;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /tiny/    { rate_limit zone=tiny;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /quick/   { rate_limit zone=quick;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /both/    { rate_limit zone=apikey;
                             rate_limit zone=global;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /kept/    { rate_limit zone=kept;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /fifty/   { rate_limit zone=fifty;
                             rate_limit_headers on;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /fiftyx/  { rate_limit zone=fiftyx;
                             rate_limit_headers legacy;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /paced/   { rate_limit zone=paced;
                             rate_limit_headers on;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /early/   { rate_limit zone=early;
                             return 200 "answered in the rewrite phase\n"; }
        location /hundred/ { rate_limit zone=hundred;
                             rate_limit_headers on;
                             proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location = /status { integrations_status; }
    }
CONF

$gw->start(http => $conf);

sub metrics {
    my $r = $gw->get('/status?format=json');
    my %m;
    for my $f (@{ decode_json($r->{body})->{metrics} }) {
        for my $s (@{ $f->{samples} }) {
            my $l = join ',', map { "$_=$s->{labels}{$_}" }
                              sort keys %{ $s->{labels} };
            $m{"$f->{name}\{$l}"} = $s->{value};
        }
    }
    return \%m;
}

# N clients in parallel for $secs seconds; returns (statuses, elapsed)
sub flood {
    my ($path, $clients, $secs) = @_;
    my $dir = $gw->dir;
    my $t0 = time;
    my @pids;
    for my $c (1 .. $clients) {
        my $pid = fork() // die;
        if ($pid == 0) {
            my %n;
            while (time < $t0 + $secs) {
                my $r = eval { $gw->get($path, timeout => 5) } or next;
                $n{$r->{status}}++;
            }
            open my $fh, '>', "$dir/flood.$c" or die;
            print $fh join(',', map { "$_=$n{$_}" } keys %n);
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid($_, 0) for @pids;
    my $elapsed = time - $t0;
    my %n;
    for my $c (1 .. $clients) {
        my $s = $gw->read_file("flood.$c");
        for (split /,/, $s) { my ($k, $v) = split /=/; $n{$k} += $v; }
    }
    return (\%n, $elapsed);
}

# --- the GCRA bound over a 10 s flood from 2 workers ----------------------

{
    $up->clear;
    my $secs = $VG ? 5 : 10;
    my ($n, $elapsed) = flood('/flood/x', 4, $secs);
    my $admitted = $n->{200} // 0;
    my $bound = floor($elapsed * 10) + 5 + 1;
    my $upstream = () = $up->requests;

    ok($admitted <= $bound,
       "flood: $admitted admitted in ${elapsed}s, bound rate x time + burst"
       . " + 1 = $bound");
    is($upstream, $admitted, 'flood: the upstream saw exactly the admitted');
    ok(($n->{429} // 0) > $admitted, 'flood: the flood was really excessive')
        or diag explain $n;
    ok(!grep({ $_ != 200 && $_ != 429 } keys %$n), 'flood: only 200 and 429')
        or diag explain $n;

    SKIP: {
        skip 'throughput under valgrind', 1 if $VG;
        ok($admitted >= floor(($secs - 0.5) * 10),
           "flood: the rate is reached ($admitted)");
    }

    my $m = metrics();
    is($m->{'integrations_rate_limit_requests_total{result=passed,zone=flood}'},
       $admitted, 'metrics: passed of zone flood, same from every worker');
    is($m->{'integrations_rate_limit_requests_total{result=rejected,zone=flood}'},
       $n->{429}, 'metrics: rejected of zone flood');
}

# --- delay mode: 15 at once, 6 admitted, released 100 ms apart -------------

{
    sleep 1;    # the shape zone is fresh anyway
    $up->clear;
    my $dir = $gw->dir;
    my $t0 = time;
    my @pids;
    # the children are forked first and all start on one signal, so that
    # forking 15 processes on a loaded machine does not spread the burst
    for my $i (1 .. 15) {
        my $pid = fork() // die;
        if ($pid == 0) {
            sleep 0.001 until -e "$dir/shape.go";
            my $start = time;
            my $r = $gw->get('/shape/x', timeout => 20);
            open my $fh, '>', "$dir/shape.$i" or die;
            printf $fh "%s %s %.3f %.6f", $r->{status},
                   $r->{headers}{'x-rl-status'} // '-', time - $t0, $start;
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    sleep 0.2;
    $gw->write_file('shape.go', '');
    waitpid($_, 0) for @pids;

    my (%status, %verdict, @start);
    for my $i (1 .. 15) {
        my ($s, $v, undef, $st) = split / /, $gw->read_file("shape.$i");
        $status{$s}++;
        $verdict{$v}++;
        push @start, $st;
    }
    @start = sort { $a <=> $b } @start;
    # the counts below hold for a burst that arrives within one emission
    # interval (100 ms); a loaded machine may still spread it
    my $spread = $start[-1] - $start[0];
    my $burst = $spread <= 0.08;

    SKIP: {
        skip 'the 15 requests do not arrive within 100 ms under valgrind', 3
            if $VG;
        skip sprintf('the 15 requests were spread over %.3f s', $spread), 3
            unless $burst;
        is($status{200}, 6, 'delay: burst + 1 admitted') or diag explain \%status;
        is($status{429}, 9, 'delay: the rest rejected at once');
        is($verdict{DELAYED}, 5, 'delay: 5 of them $rate_limit_status DELAYED')
            or diag explain \%verdict;
    }

    my @t = sort { $a <=> $b } map { $_->{time} } $up->requests;
    ok(@t >= 2, 'delay: requests reached the upstream');
    # the n-th release comes n x 100 ms after the first, as the mock
    # upstream sees them; it forks per connection, so a loaded machine
    # adds tens of ms to any one arrival: 50 ms of slack, no more
    my $early = 0;
    for my $i (1 .. $#t) {
        $early++ if $t[$i] - $t[0] < 0.1 * $i - 0.05;
    }
    SKIP: {
        # a late request may pass at once under the burst allowance
        skip sprintf('the 15 requests were spread over %.3f s', $spread), 1
            unless $burst || $VG;
        is($early, 0, 'delay: released 100 ms apart');
    }
    SKIP: {
        skip 'timing under valgrind', 1 if $VG;
        skip sprintf('the 15 requests were spread over %.3f s', $spread), 1
            unless $burst;
        ok($t[-1] - $t[0] >= 0.40,
           sprintf('delay: the burst was spread over %.3f s', $t[-1] - $t[0]));
    }
}

# --- delay mode under a sustained flood never exceeds the rate -------------

{
    sleep 1;
    $up->clear;
    my ($n, $elapsed) = flood('/shape/y', 4, $VG ? 3 : 4);
    my @t = sort { $a <=> $b } map { $_->{time} } $up->requests;
    my $max = 0;
    for my $i (0 .. $#t) {
        my $j = $i;
        $j++ while $j + 1 <= $#t && $t[$j + 1] - $t[$i] <= 1.0;
        $max = $j - $i + 1 if $j - $i + 1 > $max;
    }
    # releases in any 1 s window: ceil(1001 ms x 10/s) = 11; + 1 for jitter
    ok($max <= 12, "delay flood: at most $max upstream calls in any second");
    ok(($n->{200} // 0) <= floor($elapsed * 10) + 5 + 1,
       'delay flood: admitted within the bound');
}

# --- 429 headers exact -----------------------------------------------------

{
    my @r = map { $gw->get('/minute/x') } 1 .. 3;
    is($r[0]{status}, 200, 'minute: first passes');
    is($r[0]{headers}{'ratelimit-policy'}, '"minute";q=2;w=120',
       'minute: RateLimit-Policy on a passed response');
    is($r[0]{headers}{ratelimit}, '"minute";r=1;t=60',
       'minute: RateLimit on a passed response');
    is($r[0]{headers}{'x-rl-status'}, 'PASSED', 'minute: PASSED');
    is($r[1]{status}, 200, 'minute: second passes (burst 1)');
    is($r[1]{headers}{ratelimit}, '"minute";r=0;t=120', 'minute: r=0');

    my $x = $r[2];
    is($x->{status}, 429, 'minute: third is 429');
    is($x->{headers}{'retry-after'}, '60', 'minute: Retry-After 60');
    is($x->{headers}{'ratelimit-policy'}, '"minute";q=2;w=120',
       'minute: RateLimit-Policy on 429');
    is($x->{headers}{ratelimit}, '"minute";r=0;t=120',
       'minute: RateLimit on 429');
    is($x->{headers}{'content-type'}, 'application/problem+json',
       'minute: problem+json');
    is($x->{headers}{'x-rl-status'}, 'REJECTED', 'minute: REJECTED');
    my $p = decode_json($x->{body});
    is($p->{status}, 429, 'minute: problem status');
    is($p->{type}, 'urn:integrations:problem:rate_limited',
       'minute: problem type');

    my $l = $gw->get('/legacy/x');
    is($l->{status}, 503, 'legacy: rate_limit_status 503');
    is($l->{headers}{'x-ratelimit-limit'}, '2', 'legacy: X-RateLimit-Limit');
    is($l->{headers}{'x-ratelimit-remaining'}, '0',
       'legacy: X-RateLimit-Remaining');
    like($l->{headers}{'x-ratelimit-reset'}, qr/^1(19|20)$/,
         'legacy: X-RateLimit-Reset');
    ok(!exists $l->{headers}{ratelimit}, 'legacy: no draft headers');
    like($l->{headers}{'retry-after'}, qr/^(59|60)$/, 'legacy: Retry-After');
}

# --- the policy advertised is the one the limiter honours ----------------
# (issue 8, item 9: rate=50r/s used to advertise q=1;w=1, 2% of the budget)

{
    my $r = $gw->get('/fifty/x');
    is($r->{status}, 200, '50r/s: passes');
    is($r->{headers}{'ratelimit-policy'}, '"fifty";q=50;w=1',
       '50r/s burst=0: RateLimit-Policy q=50;w=1');
    is($r->{headers}{ratelimit}, '"fifty";r=49;t=1',
       '50r/s burst=0: RateLimit r=49;t=1 after one request');

    my $l = $gw->get('/fiftyx/x');
    is(join(',', map { $l->{headers}{"x-ratelimit-$_"} // '-' }
                     qw(limit remaining reset)),
       '50,49,1', '50r/s legacy: X-RateLimit-Limit 50, Remaining 49, Reset 1');

    my $h = $gw->get('/hundred/x');
    is($h->{headers}{'ratelimit-policy'}, '"hundred";q=100;w=60',
       '100r/m burst=99: RateLimit-Policy q=100;w=60');
    is($h->{headers}{ratelimit}, '"hundred";r=99;t=1',
       '100r/m burst=99: RateLimit r=99;t=1');

    # a client that keeps to the advertised pace, w/q = 20 ms apart, is
    # never refused (burst 0: one request sooner would be)
    my @s;
    for (1 .. 10) {
        push @s, $gw->get('/paced/x')->{status};
        sleep 0.021;
    }
    is_deeply(\@s, [(200) x 10], '50r/s: 10 requests at the advertised pace pass');
}

# --- a location answering with return is never limited (README) -------------

{
    my @s = map { $gw->get('/early/x')->{status} } 1 .. 3;
    is_deeply(\@s, [200, 200, 200],
              'return answers in the rewrite phase, before rate_limit');
}

# --- empty keys are not limited; several limits must all pass -----------

{
    my @s = map { $gw->get('/apikey/x')->{status} } 1 .. 5;
    is_deeply(\@s, [(200) x 5], 'empty key: not limited');

    @s = map { $gw->get('/apikey/x', headers => { 'X-Api-Key' => 'k1' })
                   ->{status} } 1 .. 2;
    is_deeply(\@s, [200, 429], 'api key: one per minute');

    # /both: apikey (1r/m) and global (3r/m, burst 2: 3 at once)
    @s = map { $gw->get('/both/x', headers => { 'X-Api-Key' => "b$_" })
                   ->{status} } 1 .. 4;
    is_deeply(\@s, [200, 200, 200, 429], 'both: global limit applies');

    # a key rejected by apikey uses up nothing of global
    my $r = $gw->get('/both/x', headers => { 'X-Api-Key' => 'k1' });
    is($r->{status}, 429, 'both: rejected by the api key limit');
    my $m = metrics();
    is($m->{'integrations_rate_limit_requests_total{result=passed,zone=global}'},
       3, 'both: global counted only the 3 admitted');
}

# $n requests to /$zone/, each with a key of its own ("key-1" ...), all
# served; then the metrics
my $DISTINCT = $VG ? 300 : 600;

sub distinct_keys {
    my ($zone) = @_;
    my %s;
    $s{ $gw->get("/$zone/x", headers => { 'X-Key' => "key-$_" })->{status} }++
        for 1 .. $DISTINCT;
    is($s{200}, $DISTINCT, "$zone zone: all $DISTINCT distinct keys served");
    return metrics();
}

# --- a full zone evicts the least recently used keys and keeps serving ----

{
    my $n = $DISTINCT;
    my $m = distinct_keys('tiny');
    ok($m->{'integrations_rate_limit_evictions_total{zone=tiny}'} > 0,
       'tiny zone: evictions counted');
    ok($m->{'integrations_rate_limit_keys{zone=tiny}'} < $n,
       'tiny zone: fewer keys held than seen');
    my @full = $gw->error_log =~ /rate_limit_zone "tiny" is full/g;
    is(scalar @full, 1, 'tiny zone: "is full" logged once');
    # the most recent key is still limited
    is($gw->get('/tiny/x', headers => { 'X-Key' => "key-$n" })->{status}, 429,
       'tiny zone: a recent key keeps its state');
}

# --- keys idle again (their bucket full) make room: not evictions ---------

{
    # 100r/s: a key is idle 10 ms after its request; the zone holds a few
    # hundred keys, and is never full of ones that still have state
    my $n = $DISTINCT;
    my $m = distinct_keys('quick');
    is($m->{'integrations_rate_limit_evictions_total{zone=quick}'} // 0, 0,
       'quick zone: idle keys made room, none evicted');
    ok($m->{'integrations_rate_limit_keys{zone=quick}'} < $n,
       'quick zone: fewer keys held than seen');
    unlike($gw->error_log, qr/rate_limit_zone "quick" is full/,
           'quick zone: not logged as full');
}

# --- state and counters survive a reload -----------------------------------

{
    is($gw->get('/kept/x')->{status}, 200, 'reload: first passes');
    my $before = metrics();
    $gw->reload(http => $conf);
    is($gw->get('/kept/x')->{status}, 429, 'reload: the key kept its state');
    my $after = metrics();
    is($after->{'integrations_rate_limit_requests_total{result=passed,zone=flood}'},
       $before->{'integrations_rate_limit_requests_total{result=passed,zone=flood}'},
       'reload: counters kept');
}

$gw->stop;
$up->stop;

done_testing;
