# circuit_breaker through real nginx (2 workers) to a mock upstream that a
# test switches between healthy, failing, slow and hanging, and to ports
# where nothing listens: opening, short-circuiting, probes, closing, the
# doubled open time and its cap, client aborts during a probe, every
# proxy_next_upstream attempt, reloads, the metrics.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use FindBin;
use Gateway;
use MockServer;

my $VG = $ENV{VALGRIND};

my $gw = Gateway->new(workers => 2);

my $up = MockServer->new(port => $gw->port('up'), handler => sub {
    my ($req, $mode) = @_;
    return (500, {}, "failing\n") if $mode eq 'failing';
    return (429, {}, "slow down\n") if $mode eq 'throttled';
    return { hang => 5 } if $mode eq 'hang';
    if ($mode eq 'slow') { sleep 0.3; }
    return (200, { 'Content-Type' => 'text/plain' }, "ok\n");
});

my $down = Gateway::free_port();
my $down2 = Gateway::free_port();

my $conf = <<"CONF";
    circuit_breaker_zone  zone=cb:1m;
    circuit_breaker_zone  zone=tiny:32k;

    add_header  X-CB-State  \$circuit_breaker_state  always;
    proxy_read_timeout  1s;

    upstream twodown {
        server 127.0.0.1:$down max_fails=0;
        server 127.0.0.1:$down2 max_fails=0;
    }

    server {
        listen 127.0.0.1:%%PORT:gw%%;

        location /a/ {
            circuit_breaker zone=cb failures=3 open=1s max_open=2s;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location /abort/ {
            circuit_breaker zone=cb failures=1 open=1s;
            proxy_read_timeout 10s;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location /down/ {
            circuit_breaker zone=cb failures=4 open=30s;
            proxy_pass http://twodown;
        }
        location /timeout/ {
            circuit_breaker zone=cb failures=1 open=30s;
            proxy_read_timeout 200ms;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location /slow/ {
            circuit_breaker zone=cb failures=0 failure_rate=50 min_calls=4
                            window=10s slow=150ms open=30s;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location /rate/ {
            circuit_breaker zone=cb failures=0 failure_rate=50 min_calls=4
                            open=30s;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location /s1/ {
            circuit_breaker zone=cb key=shared failures=2 open=30s;
            circuit_breaker_failure_statuses 500 429;
            circuit_breaker_status 502;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location /s2/ {
            circuit_breaker zone=cb key=shared failures=2 open=30s;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location /tiny/ {
            circuit_breaker zone=tiny key=\$http_x_key failures=1 open=30s;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
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

sub upstream_count { scalar(() = $up->requests) }

# --- opens, short-circuits, probes, closes ---------------------------------

{
    $up->set_mode('failing');
    my @s = map { $gw->get('/a/x')->{status} } 1 .. 3;
    is_deeply(\@s, [500, 500, 500], 'a: failures pass through until open');

    my $seen = upstream_count();
    my $r = $gw->get('/a/x');
    is($r->{status}, 503, 'a: open answers 503');
    is($r->{headers}{'retry-after'}, '1', 'a: Retry-After is the time left');
    is($r->{headers}{'content-type'}, 'application/problem+json',
       'a: problem body');
    is(decode_json($r->{body})->{type}, 'urn:integrations:problem:circuit_open',
       'a: problem type');
    is($r->{headers}{'x-cb-state'}, 'open', 'a: $circuit_breaker_state open');
    is(upstream_count(), $seen, 'a: the upstream was not touched');

    like($gw->error_log,
         qr/\[warn\].*circuit breaker "\/a\/" in zone "cb": closed -> open: 3 consecutive failures, next probe in 1s/,
         'a: the opening is logged at warn with key, reason, next probe');

    # the probe fails: open again for 2 s (doubled)
    sleep 1.1;
    $r = $gw->get('/a/x');
    is($r->{status}, 500, 'a: after the open time a probe goes upstream');
    is($r->{headers}{'x-cb-state'}, 'half_open', 'a: probe state half_open');
    $r = $gw->get('/a/x');
    is($r->{status}, 503, 'a: the failed probe reopened it');
    is($r->{headers}{'retry-after'}, '2', 'a: open time doubled to 2 s');
    like($gw->error_log, qr/half_open -> open: probe failed, next probe in 2s/,
         'a: reopening logged');

    # probe fails again: capped at max_open=2s
    sleep 2.1;
    $gw->get('/a/x');
    $r = $gw->get('/a/x');
    is($r->{headers}{'retry-after'}, '2', 'a: open time capped at max_open');

    # healthy again: the probe closes it
    $up->set_mode('healthy');
    sleep 2.1;
    $r = $gw->get('/a/x');
    is($r->{status}, 200, 'a: a successful probe');
    $r = $gw->get('/a/x');
    is($r->{status}, 200, 'a: closed again');
    is($r->{headers}{'x-cb-state'}, 'closed', 'a: state closed');
    like($gw->error_log, qr/"\/a\/" in zone "cb": half_open -> closed: probe succeeded/,
         'a: closing logged');
    like($gw->error_log, qr/"\/a\/" in zone "cb": open -> half_open: open time elapsed/,
         'a: half-opening logged');

    my $m = metrics();
    my $k = 'key=/a/,zone=cb';
    is($m->{"integrations_circuit_breaker_state{key=/a/,state=closed,zone=cb}"}, 1,
       'metrics: state closed');
    is($m->{"integrations_circuit_breaker_opened_total{$k}"}, 3,
       'metrics: opened 3 times');
    is($m->{"integrations_circuit_breaker_transitions_total{$k}"}, 7,
       'metrics: 7 transitions');
    is($m->{"integrations_circuit_breaker_failures_total{cause=status,$k}"}, 5,
       'metrics: 5 failing statuses');
    is($m->{"integrations_circuit_breaker_short_circuited_total{$k}"}, 3,
       'metrics: 3 short-circuited');
    is($m->{"integrations_circuit_breaker_probes_total{$k}"}, 3,
       'metrics: 3 probes');
}

# --- a client that goes away during a half-open probe frees the slot ------

{
    $up->set_mode('failing');
    is($gw->get('/abort/x')->{status}, 500, 'abort: one failure opens it');
    is($gw->get('/abort/x')->{status}, 503, 'abort: open');
    sleep($VG ? 2 : 1.1);

    $up->set_mode('hang');
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
        or die;
    print $s "GET /abort/x HTTP/1.1\r\nHost: localhost\r\n\r\n";
    sleep($VG ? 1.5 : 0.3);
    close $s;           # the probe's client goes away
    sleep($VG ? 2 : 0.3);

    $up->set_mode('healthy');
    my $r = $gw->get('/abort/x');
    is($r->{status}, 200, 'abort: the next request is a probe, not 503')
        or diag explain $r;
    is($gw->get('/abort/x')->{status}, 200, 'abort: closed');
    my $m = metrics();
    is($m->{'integrations_circuit_breaker_probes_released_total{key=/abort/,zone=cb}'},
       1, 'abort: the probe slot was released')
        or diag explain { map { $_ => $m->{$_} } grep { /abort/ } keys %$m };
}

# --- connect errors on every proxy_next_upstream attempt, timeouts --------

{
    my $r = $gw->get('/down/x');
    is($r->{status}, 502, 'down: 502');
    my $m = metrics();
    is($m->{'integrations_circuit_breaker_failures_total{cause=connect_error,key=/down/,zone=cb}'},
       2, 'down: both attempts counted as connect errors');
    is($gw->get('/down/x')->{status}, 502, 'down: second request');
    is($gw->get('/down/x')->{status}, 503, 'down: 4 attempts opened it');

    $up->set_mode('hang');
    is($gw->get('/timeout/x')->{status}, 504, 'timeout: 504');
    is($gw->get('/timeout/x')->{status}, 503, 'timeout: opened');
    $m = metrics();
    is($m->{'integrations_circuit_breaker_failures_total{cause=timeout,key=/timeout/,zone=cb}'},
       1, 'timeout: counted as a timeout');
    $up->set_mode('healthy');
}

# --- slow call rate and failure rate ---------------------------------------

{
    $up->set_mode('slow');
    my @s = map { $gw->get('/slow/x')->{status} } 1 .. 4;
    is_deeply(\@s, [200, 200, 200, 200], 'slow: slow successes pass');
    is($gw->get('/slow/x')->{status}, 503, 'slow: 4 of 4 slow opened it');
    like($gw->error_log, qr/"\/slow\/".*closed -> open: slow call rate, 4 of 4 calls slow/,
         'slow: logged');

    $up->set_mode('healthy');
    $gw->get('/rate/x') for 1 .. 2;
    $up->set_mode('failing');
    $gw->get('/rate/x') for 1 .. 2;
    is($gw->get('/rate/x')->{status}, 503, 'rate: 2 of 4 failed opened it');
    like($gw->error_log, qr/"\/rate\/".*failure rate, 2 of 4 calls failed/,
         'rate: logged');
    $up->set_mode('healthy');
}

# --- a shared key, failure statuses, circuit_breaker_status ----------------

{
    $up->set_mode('throttled');
    is($gw->get('/s1/x')->{status}, 429, 's1: 429 counts as failure here');
    is($gw->get('/s2/x')->{status}, 429, 's2: not here: a success resets');
    is($gw->get('/s1/x')->{status}, 429, 's1: one failure in a row');
    is($gw->get('/s1/x')->{status}, 429, 's1: second failure opens');
    is($gw->get('/s1/x')->{status}, 502, 's1: circuit_breaker_status 502');
    is($gw->get('/s2/x')->{status}, 503, 's2: the shared breaker is open');
    $up->set_mode('healthy');
}

# --- a full zone evicts and keeps serving ----------------------------------

{
    my $n = $VG ? 150 : 300;
    my %s;
    $s{ $gw->get('/tiny/x', headers => { 'X-Key' => "k$_" })->{status} }++
        for 1 .. $n;
    is($s{200}, $n, "tiny: $n keys served");
    my $m = metrics();
    ok($m->{'integrations_circuit_breaker_evictions_total{zone=tiny}'} > 0,
       'tiny: evictions counted');
    my @full = $gw->error_log =~ /circuit_breaker_zone "tiny" is full/g;
    is(scalar @full, 1, 'tiny: "is full" logged once');
}

# --- the state survives a reload -------------------------------------------

{
    $gw->reload(http => $conf);
    my $r = $gw->get('/s2/x');
    is($r->{status}, 503, 'reload: the open breaker is still open');
    like($r->{headers}{'retry-after'}, qr/^\d+$/, 'reload: Retry-After');
    is($gw->get('/down/x')->{status}, 503, 'reload: down still open');
}

$gw->stop;
$up->stop;

# --- nginx's own errors as problem+json: the README's error_page snippet ---
# (taken from README.md as it stands, so the documented one is the tested
# one); the module's own answers are left alone by it

{
    open my $fh, '<', "$FindBin::Bin/../README.md" or die "README.md: $!";
    my $readme = do { local $/; <$fh> };
    close $fh;

    my ($snippet) = $readme =~ /\n((?:    [^\n]*\n|\n)*?    map \$status \$problem_title \{\n(?:    [^\n]*\n|\n)*)/;
    ok(defined $snippet, 'README: the error_page snippet is there');
    $snippet //= '';
    $snippet =~ s/^    //mg;
    my ($map, $server) = $snippet =~ /^(map .*?^\}\n).*?^server \{\n(.*)^\}/ms;
    ok($map && $server, 'README: its map and server parts');

    my $http = ($map // '') . <<'CONF';
    circuit_breaker_zone  zone=pcb:1m;
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        client_max_body_size 16;
        large_client_header_buffers 4 1k;
CONF
    $http .= ($server // '') . <<'CONF';
        location /down/ {
            circuit_breaker zone=pcb failures=1 open=30s;
            proxy_pass http://127.0.0.1:%%PORT:down%%;
        }
        location /ok/ { return 200 "ok\n"; }
    }
CONF

    my $pg = Gateway->new;
    $pg->start(http => $http);

    my $is_problem = sub {
        my ($r, $status, $title, $name) = @_;
        is($r->{status}, $status, "$name: status $status");
        is($r->{headers}{'content-type'}, 'application/problem+json',
           "$name: problem+json");
        my $p = eval { decode_json($r->{body}) } // {};
        is_deeply($p, { type => 'about:blank', title => $title,
                        status => $status }, "$name: the problem body")
            or diag $r->{body};
    };

    $is_problem->($pg->get('/nowhere'), 404, 'Not Found', 'unknown path');
    $is_problem->($pg->request('POST', '/ok/x', body => 'x' x 100), 413,
                  'Content Too Large', 'body over client_max_body_size');
    $is_problem->($pg->get('/ok/' . ('x' x 2000)), 414, 'URI Too Long',
                  'URI over large_client_header_buffers');
    $is_problem->($pg->raw("GET /ok/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
                           . "Connection: close\r\n\r\n"),
                  400, 'Bad Request', 'a duplicate Host header');
    $is_problem->($pg->get('/down/x'), 502, 'Bad Gateway',
                  'upstream down, nginx\'s 502');

    # the breaker opened on that 502: its own 503 stays the module's
    my $r = $pg->get('/down/x');
    is($r->{status}, 503, 'the breaker\'s own 503');
    is((eval { decode_json($r->{body}) } // {})->{type},
       'urn:integrations:problem:circuit_open',
       'error_page leaves the module\'s own problem as it is');

    $pg->stop;
}

done_testing;
