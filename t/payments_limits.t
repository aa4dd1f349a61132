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

# The payment metrics, exact after the sequence above plus one invalid
# request, the same totals from every worker

is(post('/payments', { amount => 5 })->{status}, 400, 'an invalid create');

# the invalid create is counted as its request ends, which under valgrind
# can be after its answer reached us
my $invalid = qr/^integrations_payment_failures_total\{provider="none",operation="create",currency="none",error="invalid"\} 1$/m;
my $deadline = time + ($VG ? 30 : 5);
sleep 0.1 until get('/metrics')->{body} =~ $invalid || time > $deadline;

my %seen;
$seen{ get('/metrics')->{body} }++ for 1 .. 12;
is(scalar keys %seen, 1, 'every worker answers the same totals');
($m) = keys %seen;
diag join "\n", grep { /payment/ } split /\n/, $m if $ENV{SHOW};

my %want = (
    'attempts_total{provider="stripe",operation="create",currency="USD"}' => 6,
    'attempts_total{provider="square",operation="create",currency="USD"}' => 1,
    'attempts_total{provider="toss",operation="get",currency="none"}' => 4,
    'attempts_total{provider="none",operation="create",currency="none"}' => 1,
    'successes_total{provider="stripe",operation="create",currency="USD"}' => 2,
    'successes_total{provider="square",operation="create",currency="USD"}' => 1,
    'successes_total{provider="toss",operation="get",currency="none"}' => 0,
    'successes_total{provider="none",operation="create",currency="none"}' => 0,
    'failures_total{provider="stripe",operation="create",currency="USD",error="unavailable"}' => 2,
    'failures_total{provider="stripe",operation="create",currency="USD",error="breaker_open"}' => 1,
    'failures_total{provider="stripe",operation="create",currency="USD",error="client_closed"}' => 1,
    'failures_total{provider="toss",operation="get",currency="none",error="not_found"}' => 3,
    'failures_total{provider="toss",operation="get",currency="none",error="rate_limited"}' => 1,
    'failures_total{provider="none",operation="create",currency="none",error="invalid"}' => 1,
    'duration_seconds_count{provider="stripe",operation="create"}' => 6,
    'duration_seconds_bucket{provider="stripe",operation="create",le="+Inf"}' => 6,
    'duration_seconds_count{provider="square",operation="create"}' => 1,
    'duration_seconds_bucket{provider="square",operation="create",le="+Inf"}' => 1,
    'duration_seconds_count{provider="toss",operation="get"}' => 4,
    'duration_seconds_bucket{provider="toss",operation="get",le="+Inf"}' => 4,
    'duration_seconds_count{provider="none",operation="create"}' => 1,
    'duration_seconds_bucket{provider="none",operation="create",le="+Inf"}' => 1,
);
my %got = $m =~ /^integrations_payment_(\S+) (\S+)$/mg;
my %sub = map { $_ => $got{$_} } grep { /_total|_count|Inf/ } keys %got;
is_deeply(\%sub, \%want, 'payment counters exact, nothing else counted')
    or diag explain \%sub;

my %types = $m =~ /^# TYPE (integrations_payment\S+) (\S+)$/mg;
is($types{integrations_payment_duration_seconds}, 'histogram',
   'TYPE histogram');
my @le = $m =~ /^integrations_payment_duration_seconds_bucket\{provider="stripe",operation="create",le="([^"]+)"\} \d+$/mg;
is("@le", '0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf', 'the fixed buckets, +Inf last');
my @cum = $m =~ /^integrations_payment_duration_seconds_bucket\{provider="stripe",operation="create",le="[^"]+"\} (\d+)$/mg;
ok(!grep({ $cum[$_] < $cum[$_ - 1] } 1 .. $#cum), 'buckets are cumulative');
like($m, qr/^integrations_payment_duration_seconds_sum\{provider="stripe",operation="create"\} \d+\.\d{3}$/m,
     'the sum in seconds');

my $json = decode_json(get('/metrics?format=json')->{body});
my ($h) = grep { $_->{name} eq 'integrations_payment_duration_seconds' }
          @{ $json->{metrics} };
is($h->{type}, 'histogram', 'JSON: a histogram family');
my ($toss) = grep { $_->{labels}{provider} eq 'toss' } @{ $h->{samples} };
is($toss->{count}, 4, 'JSON: count');
is($toss->{buckets}[-1]{le}, '+Inf', 'JSON: +Inf bucket last');
is($toss->{buckets}[-1]{count}, 4, 'JSON: +Inf bucket is the count');
is(scalar @{ $toss->{buckets} }, 9, 'JSON: nine buckets');

$gw->stop;
done_testing();
