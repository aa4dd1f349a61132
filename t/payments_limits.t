# The payments API's calls pass their provider's rate limit and circuit
# breaker: refused calls never reach the mock, an open breaker is skipped
# when no provider is named, a probe closes it again, a probe whose client
# went away gives its slot back; the payment_* metrics are exact and the
# same from every worker.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $OPEN = $VG ? 6 : 2;                   # the breaker's open time, s

my $gw = Gateway->new(workers => 2);
my $mock = MockProviders->new(gw => $gw);
$mock->write_keys($gw);

$gw->start(http => <<"CONF");
    rate_limit_zone      \$binary_remote_addr zone=calls:64k rate=1r/m
                         burst=2;
    circuit_breaker_zone zone=providers:64k;

    payment_provider stripe   key_file=%%DIR%%/stripe.key
                              base_url=http://127.0.0.1:%%PORT:stripe%%
                              circuit_breaker=providers failures=2
                              open=${OPEN}s;
    payment_provider square   key_file=%%DIR%%/square.key
                              base_url=http://127.0.0.1:%%PORT:square%%
                              currencies=USD methods=card
                              circuit_breaker=providers;
    payment_provider toss     key_file=%%DIR%%/toss.key
                              base_url=http://127.0.0.1:%%PORT:toss%%
                              rate_limit=calls;

    server {
        listen 127.0.0.1:%%PORT:gw%%;

        location /payments { payment_api; }
        location = /metrics { integrations_status; }
    }
CONF

my $J = JSON::PP->new->canonical;
my $T = $VG ? 60 : 10;

sub post {
    my ($uri, $obj) = @_;
    my $r = $gw->request('POST', $uri, body => $J->encode($obj),
        headers => { 'Content-Type' => 'application/json' }, timeout => $T);
    $r->{json} = eval { decode_json($r->{body}) };
    return $r;
}

sub get {
    my ($uri) = @_;
    my $r = $gw->get($uri, timeout => $T);
    $r->{json} = eval { decode_json($r->{body}) };
    return $r;
}

sub available {
    my $r = get('/payments/providers');
    return { map { $_->{name} => $_->{available} ? 1 : 0 }
             @{ $r->{json}{providers} // [] } };
}

# calls a mock received since its last clear
sub calls { my @r = $mock->{$_[0]}->requests; return scalar @r }

my %usd = (amount => 1050, currency => 'USD', source => 'cnon:card-ok',
           customer_id => 'cus_1', description => 'limits');
my $n = 0;

# The limiter: burst=2 lets three calls through, the fourth is refused with
# 429 and Retry-After, and Toss never sees it.

$mock->{toss}->clear;
for my $i (1 .. 3) {
    my $r = get("/payments/toss/tgen_limit$i");
    isnt($r->{status}, 429, "toss call $i passes the limiter");
}
my $r = get('/payments/toss/tgen_limit4');
is($r->{status}, 429, 'past the burst: 429') or diag $r->{body};
like($r->{headers}{'retry-after'} // '', qr/^\d+$/, '429 carries Retry-After');
cmp_ok($r->{headers}{'retry-after'} // 0, '>=', 1, 'Retry-After >= 1 s');
is(($r->{json} // {})->{type}, 'urn:integrations:problem:provider_rate_limited',
   'a problem body says why');
is(calls('toss'), 3, 'the refused call never reached Toss');

# The breaker: two failures in a row open it.

$mock->{stripe}->set_mode('failing');
for my $i (1 .. 2) {
    $r = post('/payments', { %usd, provider => 'stripe', order_id => "f$i" });
    is($r->{status}, 502, "failing stripe call $i: 502");
}

$mock->{stripe}->clear;
$r = post('/payments', { %usd, provider => 'stripe', order_id => 'f3' });
is($r->{status}, 503, 'breaker open: 503') or diag $r->{body};
like($r->{headers}{'retry-after'} // '', qr/^\d+$/, '503 carries Retry-After');
cmp_ok($r->{headers}{'retry-after'} // 99, '<=', $OPEN,
       'Retry-After: no longer than the open time');
is(calls('stripe'), 0, 'short-circuited: Stripe not called');

is_deeply(available(), { stripe => 0, square => 1, toss => 1 },
          '/payments/providers: stripe unavailable');

# Failover: no provider named, the first USD provider is skipped.

$mock->{square}->clear;
$r = post('/payments', { %usd, order_id => 'fo-1' });
is($r->{status}, 201, 'failover: created') or diag $r->{body};
is(($r->{json} // {})->{provider}, 'square', 'failover: by square');
is(calls('stripe'), 0, 'failover: Stripe not called');
is(calls('square'), 1, 'failover: Square called once');

# A probe whose client goes away gives its slot back: Stripe hangs, the
# client leaves, and the next call is a probe again, not "being probed".

sleep $OPEN + 0.3;
$mock->{stripe}->set_mode('slow');
{
    my $body = $J->encode({ %usd, provider => 'stripe', order_id => 'gone' });
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
        or die "connect: $!";
    print $s "POST /payments HTTP/1.1\r\nHost: x\r\n"
           . "Content-Type: application/json\r\n"
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $t0 = time;
    sleep 0.1 until time - $t0 > 5 || calls('stripe');
    ok(calls('stripe'), 'the probe reached Stripe');
    close $s;
    sleep($VG ? 1.5 : 0.3);
}

$mock->{stripe}->set_mode('healthy');
$mock->{stripe}->clear;
$r = post('/payments', { %usd, provider => 'stripe', order_id => 'probe' });
is($r->{status}, 201, 'the next probe went: the slot was released')
    or diag $r->{body};
is(calls('stripe'), 1, 'the probe reached Stripe');
is_deeply(available(), { stripe => 1, square => 1, toss => 1 },
          'a successful probe closed the breaker');

$r = post('/payments', { %usd, order_id => 'back' });
is(($r->{json} // {})->{provider}, 'stripe', 'closed: stripe first again');

# The same zones and keys on integrations_status

my $m = get('/metrics')->{body};
like($m, qr/^integrations_circuit_breaker_state\{zone="providers",key="stripe",state="closed"\} 1$/m,
     'metrics: the stripe breaker, closed');
like($m, qr/^integrations_circuit_breaker_opened_total\{zone="providers",key="stripe"\} 1$/m,
     'metrics: opened once');
like($m, qr/^integrations_circuit_breaker_short_circuited_total\{zone="providers",key="stripe"\} 1$/m,
     'metrics: one call short-circuited');
like($m, qr/^integrations_circuit_breaker_probes_released_total\{zone="providers",key="stripe"\} 1$/m,
     'metrics: the abandoned probe released');
like($m, qr/^integrations_rate_limit_requests_total\{zone="calls",result="rejected"\} 1$/m,
     'metrics: one call rejected by the limiter');
like($m, qr/^integrations_rate_limit_requests_total\{zone="calls",result="passed"\} 3$/m,
     'metrics: three passed');

$gw->stop;
done_testing();
