# The outbound client's calls through a scope=cluster rate_limit_zone:
# the payments API waits for Redis's decision before the call starts; a
# call over the cluster's rate gets 429 with Retry-After and never reaches
# the provider; while Redis is down, on_error=reject refuses and
# on_error=local decides on the node's share; a client that goes while
# Redis decides leaves nothing behind.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;
use Redis;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $T = $VG ? 60 : 10;

my $rd = Redis->new;
my $gw = Gateway->new(workers => 2);
my $mock = MockProviders->new(gw => $gw);
$mock->write_keys($gw);

$gw->start(http => <<"CONF");
    integrations_redis  @{[ $rd->url ]}  timeout=@{[ $VG ? 2000 : 300 ]}ms;

    rate_limit_zone  toss    zone=toss:64k    rate=1r/m burst=2
                     scope=cluster on_error=reject;
    rate_limit_zone  square  zone=square:64k  rate=1r/m burst=3
                     scope=cluster nodes=2;

    payment_provider toss     key_file=%%DIR%%/toss.key
                              base_url=http://127.0.0.1:%%PORT:toss%%
                              rate_limit=toss;
    payment_provider square   key_file=%%DIR%%/square.key
                              base_url=http://127.0.0.1:%%PORT:square%%
                              currencies=USD methods=card
                              rate_limit=square;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /payments { payment_api; }
    }
CONF

sub get {
    my ($uri) = @_;
    my $r = $gw->get($uri, timeout => $T);
    $r->{json} = eval { decode_json($r->{body}) };
    return $r;
}

sub calls { my @r = $mock->{$_[0]}->requests; return scalar @r }

$mock->{toss}->clear;
for my $i (1 .. 3) {
    isnt(get("/payments/toss/tgen_c$i")->{status}, 429,
         "toss call $i passes the cluster's limit");
}
my $r = get('/payments/toss/tgen_c4');
is($r->{status}, 429, 'past the burst: 429') or diag $r->{body};
cmp_ok($r->{headers}{'retry-after'} // 0, '>=', 1, 'with Retry-After');
is(($r->{json} // {})->{type}, 'urn:integrations:problem:provider_rate_limited',
   'a problem body says why');
is(calls('toss'), 3, 'the refused call never reached Toss');
like($rd->cli('GET', 'integrations:rl:toss:toss') // '', qr/^\d{16}$/,
     "the provider's key is in Redis");

# another node took the square quota: this one is refused at once

$rd->cli('SET', 'integrations:rl:square:square',
         (int(time) + 600) . '000000', 'PX', 600000);
$mock->{square}->clear;
$r = get('/payments/square/sq_1');
is($r->{status}, 429, "the cluster's state counts: another node's use");
is(calls('square'), 0, 'Square not called');
$rd->cli('DEL', 'integrations:rl:square:square');

# a client that goes while Redis decides (Redis paused)

$rd->pause;
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
        or die "connect: $!";
    print $s "GET /payments/square/sq_gone HTTP/1.1\r\nHost: x\r\n\r\n";
    sleep 0.05;
    close $s;
}
sleep($VG ? 3 : 0.5);
$rd->resume;

# Redis down

$rd->kill;
$r = get('/payments/toss/tgen_c5');
is($r->{status}, 429, 'Redis down, on_error=reject: refused');
is($r->{headers}{'retry-after'}, 1, 'Retry-After: 1');

$mock->{square}->clear;
my %s;
$s{get("/payments/square/sq_d$_")->{status}}++ for 1 .. 4;
# burst=3 over nodes=2: a node's share admits 1 + 1 back to back
is($s{429}, 2, "Redis down, on_error=local: the node's share (2 of 4)")
    or diag explain \%s;
is(calls('square'), 2, 'Square saw only those');

$rd->start;
$gw->stop;

done_testing();
