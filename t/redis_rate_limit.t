# rate_limit_zone ... scope=cluster on one gateway (2 workers) and a real
# redis-server: the decision is Redis's (the key is in Redis, the workers
# agree), a burst admits burst + 1, sync= decides locally and reports;
# Redis killed, paused and restarted: on_error=local decides on the
# node's share, on_error=reject answers 503 with Retry-After, a paused
# Redis costs at most the timeout, the change is logged once each way
# at warn, and Redis is used again by itself.  The directive's errors.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);
use IO::Socket::INET;

use Gateway;
use Redis;

my $VG = $ENV{VALGRIND};
my $TIMEOUT = $VG ? 1500 : 300;

my $rd = Redis->new;
my $gw = Gateway->new(workers => 2);

my $conf = <<"CONF";
    integrations_redis  @{[ $rd->url ]}  timeout=${TIMEOUT}ms  pool=2;

    rate_limit_zone  \$http_x_key  zone=cl:1m  rate=10r/s burst=5
                     scope=cluster nodes=3;
    rate_limit_zone  \$http_x_key  zone=strict:1m  rate=10r/s burst=5
                     scope=cluster on_error=reject;
    rate_limit_zone  \$http_x_key  zone=synced:1m  rate=10r/s burst=5
                     scope=cluster sync=100ms nodes=2;
    rate_limit_zone  \$http_x_key  zone=minute:1m  rate=1r/m
                     scope=cluster nodes=2;

    add_header  X-RL-Status  \$rate_limit_status  always;

    server {
        listen 127.0.0.1:%%PORT:up%%;
        location / { return 200 "ok\\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT:gw%%;

        location /cl/     { rate_limit zone=cl;
                            rate_limit_headers on;
                            proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /strict/ { rate_limit zone=strict;
                            proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /synced/ { rate_limit zone=synced;
                            proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /minute/ { rate_limit zone=minute;
                            proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location /two/    { rate_limit zone=cl;
                            rate_limit zone=minute;
                            proxy_pass http://127.0.0.1:%%PORT:up%%; }
        location = /status { integrations_status; }
    }
CONF

$gw->start(http => $conf);

sub get {
    my ($path, $key, %a) = @_;
    return $gw->get($path, headers => { 'X-Key' => $key }, %a);
}

# $n requests for /cl/ with key $key written at once on $n connections:
# the seconds from the writes to the last answer, and the answers
sub at_once {
    my ($n, $key) = @_;
    my @socks = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => $gw->port('gw'), Timeout => 10)
            // die "connect: $!"
    } 1 .. $n;
    my $t0 = time;
    syswrite($_, "GET /cl/x HTTP/1.1\r\nHost: gw\r\nX-Key: $key\r\n"
                 . "Connection: close\r\n\r\n") for @socks;
    my @answers = map { local $/; my $sock = $_; <$sock> // '' } @socks;
    return (time - $t0, @answers);
}

# $n requests, $clients at a time; the statuses counted, and in
# $s->{elapsed} the seconds they took (a loaded machine spreads a burst
# over several emission intervals, each of which admits one more)
sub burst {
    my ($path, $key, $n, $clients) = @_;
    my $dir = $gw->dir;
    my $t0 = time;
    my @pids;
    for my $c (1 .. $clients) {
        my $pid = fork() // die;
        if ($pid == 0) {
            my %s;
            for (1 .. $n / $clients) {
                my $r = eval { get($path, $key, timeout => 10) };
                $s{$r ? $r->{status} : 'died'}++;
            }
            open my $fh, '>', "$dir/burst.$c" or die;
            print $fh join(',', map { "$_=$s{$_}" } keys %s);
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid($_, 0) for @pids;
    my %s = (elapsed => time - $t0);
    for my $c (1 .. $clients) {
        for (split /,/, $gw->read_file("burst.$c")) {
            my ($k, $v) = split /=/;
            $s{$k} += $v;
        }
    }
    return \%s;
}

sub wait_for {
    my ($what, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $what->();
        sleep 0.05;
    }
    return 0;
}

sub count_log {
    my ($re) = @_;
    return scalar(() = $gw->error_log =~ /$re/g);
}

# --- Redis decides ---------------------------------------------------------

{
    my $s = burst('/cl/x', 'k1', 20, 4);
    my $ok = $s->{200} // 0;
    my $max = 6 + int($s->{elapsed} * 10);
    ok($ok >= 6 && $ok <= $max,
       "a burst of 20 through 2 workers: burst + 1 admitted, and one per"
       . " 100 ms it took ($ok, at most $max)")
        or diag explain $s;
    is(($s->{200} // 0) + ($s->{429} // 0), 20, 'the rest got 429')
        or diag explain $s;

    # 1r/m: the key lives a minute, long enough to be read on a loaded
    # machine (cl's lapse 100 ms after each admission)
    is(get('/minute/x', 'k1')->{status}, 200, 'a 1r/m key: admitted');
    my $tat = $rd->cli('GET', 'integrations:rl:minute:k1') // '';
    like($tat, qr/^\d{16}$/, "the key's TAT is in Redis, in microseconds");

    my $ttl = $rd->cli('PTTL', 'integrations:rl:minute:k1') // -2;
    ok($ttl > 50_000 && $ttl <= 60_001,
       "and expires when fresh again, in a minute ($ttl ms)");

    my $calls = $rd->calls('evalsha') + $rd->calls('eval');
    # and an EVAL after each NOSCRIPT a fresh Redis answers: at most one
    # per connection (2 workers, pool=2)
    ok($calls >= 2 && $calls <= 25,
       "at most one script call per decision ($calls for 21)");
}

# A worker's requests for one key in one pass of its event loop are one
# TAKE of n in Redis: 60 requests written at once on 60 connections are
# decided in fewer script calls than requests, exactly as one at a time
# (burst + 1 admitted, the last of them with none left, each its own
# RateLimit header).

{
    sleep 0.75;
    $rd->reset_stats;
    my ($elapsed, @answers) = at_once(60, 'k9');
    my (%status, @left);
    for my $answer (@answers) {
        my ($st) = $answer =~ m{^HTTP/1\.1 (\d+)};
        $status{$st // 'none'}++;
        push @left, $1 if $st && $st == 200
                          && $answer =~ /^RateLimit: "cl";r=(\d+)/mi;
    }
    my $ok = $status{200} // 0;
    my $max = 6 + int($elapsed * 10);
    ok($ok >= 6 && $ok <= $max,
       "60 at once: burst + 1 admitted, one more per 100 ms ($ok, at most"
       . " $max)") or diag explain \%status;
    is($ok + ($status{429} // 0), 60, 'the rest got 429')
        or diag explain \%status;
    # r= is in the policy's terms: 10 a second, of which burst + 1 = 6
    # are the bucket; the one that filled it has 10 - 6 = 4 left
    ok((grep { $_ == 4 } @left), 'the admission that filled the burst'
       . ' was told none are left (r=4)') or diag explain \@left;
    my %seen = map { $_ => 1 } @left;
    ok(keys %seen == @left || $elapsed >= 0.1,
       'each admission its own remaining (' . join(',', sort @left) . ')');
    my $calls = $rd->calls('evalsha') + $rd->calls('eval');
    ok($calls >= 1 && $calls < 60,
       "decided in fewer script calls than requests ($calls for 60)");
}

# A script that fails (the key holds a list: WRONGTYPE) is one error for
# its batch in the log (the Redis client's "command refused"), not one for
# each request waiting in it; each then decides on the node's share
# (on_error=local).

{
    $rd->cli('LPUSH', 'integrations:rl:cl:kbad', 'x');
    $rd->reset_stats;
    my $before = () = $gw->error_log =~ /command refused: "WRONGTYPE/g;
    my (undef, @answers) = at_once(30, 'kbad');
    my %status;
    $status{ ($_ =~ m{^HTTP/1\.1 (\d+)})[0] // 'none' }++ for @answers;
    is(($status{200} // 0) + ($status{429} // 0), 30,
       'a failing script: each request decided locally')
        or diag explain \%status;
    my ($failed) = ($rd->cli('INFO', 'commandstats') // '')
                   =~ /^cmdstat_evalsha:.*failed_calls=(\d+)/m;
    my $lines = (() = $gw->error_log =~ /command refused: "WRONGTYPE/g)
                - $before;
    ok($failed, "the script failed ($failed calls for the 30)");
    is($lines, $failed, 'one error line per failed call, not per request');
    unlike($gw->error_log, qr/"cl": unexpected answer/,
           'the refusal logged once, by the Redis client');
    $rd->cli('DEL', 'integrations:rl:cl:kbad');
}

{
    sleep 0.75;
    my $r = get('/cl/x', 'k2');
    is($r->{status}, 200, 'a fresh key passes');
    like($r->{headers}{'ratelimit-policy'} // '', qr/^"cl";q=\d+;w=\d+$/,
         'RateLimit-Policy from a Redis decision');
    like($r->{headers}{ratelimit} // '', qr/^"cl";r=9;t=1$/,
         "RateLimit: 9 of the 10 a second left, reset in 1 s");
    is($r->{headers}{'x-rl-status'}, 'PASSED', '$rate_limit_status PASSED');
}

# two limits: the minute limit rejects, the cl limit is only checked

{
    is(get('/two/x', 'k3')->{status}, 200, 'two limits: the first passes');
    my $before = $rd->cli('GET', 'integrations:rl:cl:k3');
    is(get('/two/x', 'k3')->{status}, 429,
       'two limits: the minute one rejects the second');
    # the key lapses 100 ms after its one admission: gone, or unchanged
    my $after = $rd->cli('GET', 'integrations:rl:cl:k3') // '';
    ok($after eq $before || $after eq '',
       'and the other limit was not used up by it');
}

# --- sync=: decided here, reported to Redis --------------------------------

{
    my $s = burst('/synced/x', 'k4', 20, 2);
    my $ok = $s->{200} // 0;
    my $max = 6 + int($s->{elapsed} * 10);
    ok($ok >= 6 && $ok <= $max,
       "sync=100ms: a burst admits burst + 1 ($ok, at most $max)")
        or diag explain $s;
    ok(wait_for(sub {
           ($rd->cli('GET', 'integrations:rl:synced:k4') // '') =~ /^\d+$/
       }, 3), 'and the admissions reach Redis within the interval');

    # another node used the key up: this one learns it at the next sync
    $rd->cli('EVAL', "redis.call('SET', KEYS[1], string.format('%d', "
           . "(tonumber(redis.call('TIME')[1]) + 30) * 1000000), 'PX', "
           . "40000) return 1", 1, 'integrations:rl:synced:k5');
    is(get('/synced/x', 'k5')->{status}, 200,
       'sync=: a key is first decided locally');
    ok(wait_for(sub { get('/synced/x', 'k5')->{status} == 429 }, 3),
       "then Redis's TAT (another node's use) is taken back: 429");
}

# --- Redis down -------------------------------------------------------------

{
    $rd->kill;

    my $t0 = time;
    my $s = burst('/cl/x', 'k6', 12, 2);
    my $elapsed = time - $t0;
    my $ok = $s->{200} // 0;

    # a third of 10r/s burst=5: burst 1, so 2 at once, then one per 300 ms
    my $max = 2 + int($s->{elapsed} * 10 / 3);
    ok($ok >= 2 && $ok <= $max,
       "Redis killed, on_error=local: the node's share admitted ($ok, at"
       . " most $max)")
        or diag explain $s;
    ok(!$s->{died} && !$s->{500} && !$s->{503}, 'no error answered')
        or diag explain $s;
    ok($elapsed < ($VG ? 30 : 3), "no request waited ($elapsed s for 12)");

    my $r = get('/strict/x', 'k7');
    is($r->{status}, 503, 'on_error=reject: 503');
    is($r->{headers}{'retry-after'}, 1, 'with Retry-After');
    like($r->{headers}{'content-type'} // '', qr{application/problem\+json},
         'as problem+json');
    like($r->{body}, qr/rate_limit_unavailable/, 'of type rate_limit_unavailable');

    is(get('/synced/x', 'k8')->{status}, 200,
       'sync= decides locally on without Redis');

    ok(wait_for(sub { count_log(qr/\[warn\].*redis: .* is down/) >= 1 }, 3),
       'the outage is logged at warn');
    sleep 1.5;
    burst('/cl/x', 'k9', 6, 2);
    is(count_log(qr/redis: .* is down/), 1,
       'once, though both workers and the probes saw it');

    $rd->start;

    ok(wait_for(sub {
           get('/minute/x', 'k10');
           length($rd->cli('GET', 'integrations:rl:minute:k10') // '')
       }, 5), 'Redis restarted: decisions are its own again, by themselves');
    is(count_log(qr/\[warn\].*redis: .* is up again/), 1,
       'the recovery is logged once at warn');

    my $r2 = get('/strict/x', 'k11');
    ok(wait_for(sub { get('/strict/x', 'k12')->{status} == 200 }, 3),
       'on_error=reject passes again');
    ok($rd->calls('eval') >= 1, 'the script was sent again after NOSCRIPT');
}

# --- Redis paused: the timeout bounds the wait ------------------------------

{
    ok(wait_for(sub { get('/cl/x', 'k13')->{status} == 200 }, 3),
       'before the pause');
    $rd->pause;

    my $t0 = time;
    my $r = get('/cl/x', 'k14', timeout => 20);
    my $first = time - $t0;

    $t0 = time;
    my $r2 = get('/cl/x', 'k15', timeout => 20);
    my $second = time - $t0;

    is($r->{status}, 200, 'Redis paused: the request is decided locally');
    ok($first < $TIMEOUT / 1000 + ($VG ? 2 : 0.3),
       sprintf('after at most the timeout (%.3f s, timeout %.3f s)', $first,
               $TIMEOUT / 1000));
    ok($second < ($VG ? 1.5 : 0.1),
       sprintf('the next one at once, Redis known down (%.3f s)', $second));

    $rd->resume;
    ok(wait_for(sub {
           get('/minute/x', 'k16');
           length($rd->cli('GET', 'integrations:rl:minute:k16') // '')
       }, 5), 'Redis resumed: used again');
}

# --- metrics -----------------------------------------------------------------

{
    my $r = $gw->get('/status');
    like($r->{body}, qr/^integrations_redis_up 1$/m, 'integrations_redis_up');
    like($r->{body}, qr/^integrations_redis_down_total [1-9]/m,
         'integrations_redis_down_total counts the outages');
    like($r->{body}, qr/^integrations_redis_commands_total [1-9]/m,
         'integrations_redis_commands_total');
}

# --- a reload: the new workers use Redis, the old ones finish theirs ---------

{
    $gw->reload(http => $conf);
    my $r = get('/minute/x', 'k17');
    is($r->{status}, 200, 'after a reload: a request passes');
    ok(length($rd->cli('GET', 'integrations:rl:minute:k17') // ''),
       '... decided by Redis');
}

diag(join "\n", grep { /redis/ } split /\n/, $gw->error_log) if $ENV{DEBUG_REDIS};
$gw->stop;

unlike(join("\n", grep { !/WRONGTYPE/ } split /\n/, $gw->error_log),
       qr/\[error\].*redis/, 'no Redis error logged above warn (but the'
       . ' failing script\'s)');

# --- password_file, databases, TCP -------------------------------------------

{
    my $pw = Redis->new(password => 'redis-secret-pw', tcp => 1);
    my $g2 = Gateway->new(workers => 1);
    my $file = $g2->write_file('redis.pw', "redis-secret-pw\n");

    $g2->start(http => <<"CONF");
    integrations_redis  @{[ $pw->url(tcp => 1, db => 3) ]}
                        password_file=$file;
    rate_limit_zone  \$http_x_key zone=cl:1m rate=1r/m scope=cluster
                     on_error=reject;
    server {
        listen 127.0.0.1:%%PORT:up%%;
        location / { return 200 "ok\\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location / { rate_limit zone=cl;
                     proxy_pass http://127.0.0.1:%%PORT:up%%; }
    }
CONF

    my $r = $g2->get('/', headers => { 'X-Key' => 'p' });
    is($r->{status}, 200, 'TCP, AUTH from password_file, SELECT 3');
    is($pw->cli('-n', 3, 'EXISTS', 'integrations:rl:cl:p'), 1,
       'the key is in database 3');
    $g2->stop;
    unlike($g2->error_log, qr/redis-secret-pw/, 'the password is never logged');

    my $g3 = Gateway->new(workers => 1);
    my $bad = $g3->write_file('redis.pw', "wrong\n");
    $g3->start(http => <<"CONF");
    integrations_redis  @{[ $pw->url(tcp => 1) ]}  password_file=$bad;
    rate_limit_zone  \$http_x_key zone=cl:1m rate=10r/s scope=cluster
                     on_error=reject;
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location / { rate_limit zone=cl; return 204; }
        location /p { rate_limit zone=cl; proxy_pass http://127.0.0.1:1; }
    }
CONF
    $r = $g3->get('/p', headers => { 'X-Key' => 'p' });
    is($r->{status}, 503, 'a wrong password: Redis unusable, on_error says');
    ok(wait_for(sub { $g3->error_log =~ /AUTH refused/ }, 2),
       'AUTH refused is logged');
    $g3->stop;
    unlike($g3->error_log, qr/wrong/, 'the password is never logged');
}

# --- configuration errors ----------------------------------------------------

{
    my $g = Gateway->new;
    my $srv = "server { listen 127.0.0.1:%%PORT:gw%%; }\n";
    my $url = $rd->url;
    my @cases = (
        [ "rate_limit_zone k zone=a:1m rate=1r/s scope=cluster nodes=2;",
          qr/rate_limit_zone "a" is scope=cluster: "integrations_redis" is not set/ ],
        [ "integrations_redis $url; rate_limit_zone k zone=a:1m rate=1r/s scope=cluster;",
          qr/needs "nodes=N"/ ],
        [ "rate_limit_zone k zone=a:1m rate=1r/s sync=1s;",
          qr/need "scope=cluster"/ ],
        [ "integrations_redis $url; rate_limit_zone k zone=a:1m rate=1r/s scope=cluster nodes=2 sync=x;",
          qr/invalid sync value "sync=x"/ ],
        [ "integrations_redis $url; rate_limit_zone k zone=a:1m rate=1r/s scope=cluster nodes=0;",
          qr/invalid nodes value "nodes=0"/ ],
        [ "integrations_redis $url; rate_limit_zone k zone=a:1m rate=1r/s scope=galaxy;",
          qr/invalid parameter "scope=galaxy"/ ],
        [ "integrations_redis $url; rate_limit_zone k zone=a:1m rate=1r/s scope=cluster on_error=maybe;",
          qr/invalid parameter "on_error=maybe"/ ],
        [ "integrations_redis redis://:pw\@localhost;",
          qr/"integrations_redis" directive invalid URL "redis:\/\/:pw\@localhost": a password in the URL is refused/ ],
        [ "integrations_redis http://localhost;",
          qr/"integrations_redis" directive invalid URL/ ],
        [ "integrations_redis $url timeout=0;",
          qr/"integrations_redis" directive invalid parameter "timeout=0"/ ],
        [ "integrations_redis $url pool=0;",
          qr/invalid parameter "pool=0"/ ],
        [ "integrations_redis $url pool=65;",
          qr/invalid parameter "pool=65"/ ],
        [ "integrations_redis $url password_file=/nonexistent/pw;",
          qr/integrations_redis.*\/nonexistent\/pw/ ],
        [ "integrations_redis $url; integrations_redis $url;",
          qr/"integrations_redis" directive is duplicate/ ],
        [ "integrations_redis redis://no-such-host.invalid;",
          qr/"integrations_redis" directive cannot use/ ],
    );
    for my $c (@cases) {
        my ($ok, $out) = $g->test_config(http => "$c->[0]\n$srv");
        ok(!$ok, "nginx -t refuses: $c->[0]");
        like($out, $c->[1], '... naming the problem') or diag $out;
    }

    my ($ok, $out) = $g->test_config(http =>
        "integrations_redis $url; rate_limit_zone k zone=a:1m rate=1r/s "
        . "scope=cluster on_error=reject sync=50ms;\n$srv");
    ok($ok, 'on_error=reject needs no nodes=') or diag $out;
}

done_testing();
