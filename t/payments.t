# The unified payments API through real nginx to mock providers that check
# every wire format themselves (t/lib/MockProviders.pm).

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;

my $VG = $ENV{VALGRIND} ? 1 : 0;
# the provider's total timeout: long enough for 100 concurrent calls to a
# mock that forks per connection on a loaded machine; 'slow' answers later
my $TIMEOUT = $VG ? '4s' : '3s';
# a TLS handshake under valgrind on a loaded machine: a call (or a
# refusal) must not turn into a connect timeout (504)
my $TLS_CONNECT = $VG ? '30s' : '5s';

my $gw = Gateway->new(workers => 2);
my $mock = MockProviders->new(gw => $gw, slow => 4);
$mock->write_keys($gw);

# TLS in front of the Coinbase mock, as api.commerce.coinbase.com:443 is
# (stock nginx: not under valgrind, it runs none of the module's code)
my $tls = Gateway->new(valgrind => 0);
$tls->{ports}{cbmock} = $gw->port('coinbase');
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
       . " -addext subjectAltName=DNS:localhost"
       . " -keyout " . $tls->dir . "/tls.key -out " . $tls->dir . "/tls.crt"
       . " 2>/dev/null") == 0 or die "openssl req failed";
$gw->write_file('ca.crt', $tls->read_file('tls.crt'));
$tls->start(http => <<'CONF');
    server {
        listen 127.0.0.1:%%PORT:gw%% ssl;
        ssl_certificate     %%DIR%%/tls.crt;
        ssl_certificate_key %%DIR%%/tls.key;
        location / {
            proxy_pass http://127.0.0.1:%%PORT:cbmock%%;
            proxy_set_header Host $host;
        }
    }
CONF
my $tls_port = $tls->port('gw');

my $providers = <<"CONF";
    integrations_outbound_bind  127.0.0.1;
    integrations_outbound_trusted_certificate  %%DIR%%/ca.crt;

    payment_provider stripe   key_file=%%DIR%%/stripe.key
                              base_url=http://127.0.0.1:%%PORT:stripe%%
                              timeout=$TIMEOUT;
    payment_provider toss     key_file=%%DIR%%/toss.key
                              base_url=http://127.0.0.1:%%PORT:toss%%/;
    payment_provider paypal   key_file=%%DIR%%/paypal.key
                              base_url=http://127.0.0.1:%%PORT:paypal%%;
    payment_provider square   key_file=%%DIR%%/square.key
                              base_url=http://127.0.0.1:%%PORT:square%%
                              currencies=USD,JPY methods=card;
    payment_provider coinbase key_file=%%DIR%%/coinbase.key
                              base_url=https://localhost:$tls_port
                              connect_timeout=$TLS_CONNECT;
CONF

my $conf = <<"CONF";
$providers
    log_format ids '\$request_id \$status';

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        access_log %%DIR%%/ids.log ids;

        location /payments {
            payment_api;
        }

        location /api/v1/payments {
            payment_api;
        }
    }
CONF

$gw->start(http => $conf);

my $J = JSON::PP->new->canonical;

sub post {
    my ($uri, $obj, %h) = @_;
    my $r = $gw->request('POST', $uri, body => ref $obj ? $J->encode($obj) : $obj,
        headers => { 'Content-Type' => 'application/json', %h },
        timeout => $VG ? 60 : 10);
    $r->{json} = eval { decode_json($r->{body}) };
    return $r;
}

sub get {
    my ($uri) = @_;
    my $r = $gw->get($uri, timeout => $VG ? 60 : 10);
    $r->{json} = eval { decode_json($r->{body}) };
    return $r;
}

sub shape_ok {
    my ($r, $name) = @_;
    my $j = $r->{json} // {};
    my @keys = sort keys %$j;
    is_deeply(\@keys, [qw(amount created_at currency order_id payment_id
                          provider provider_status status)],
              "$name: the one response shape") or diag $r->{body};
    like($j->{status} // '', qr/^(pending|processing|completed|failed|cancelled|refunded)$/,
         "$name: a unified status");
}

my %order = (amount => 1050, currency => 'USD', customer_id => 'cus 7',
             description => 'Café & co');

# GET /payments/providers

my $r = get('/payments/providers');
is($r->{status}, 200, 'providers: 200');
is_deeply([map { $_->{name} } @{ $r->{json}{providers} }],
          [qw(stripe toss paypal square coinbase)], 'providers in order');
is_deeply($r->{json}{providers}[3]{currencies}, ['USD', 'JPY'],
          'configured currencies');
is_deeply($r->{json}{providers}[1]{currencies}, ['KRW'], 'Toss: KRW');

# Stripe: create, read, refund

$r = post('/payments', { %order, provider => 'stripe', order_id => 'st-1',
                         source => 'pm_card_visa',
                         metadata => { sku => 'a=b&c', note => 'x y' } });
is($r->{status}, 201, 'stripe: created') or diag $r->{body};
shape_ok($r, 'stripe create');
is($r->{json}{status}, 'completed', 'stripe: succeeded is completed');
is($r->{json}{amount}, 1050, 'stripe: amount in minor units');
is($r->{json}{currency}, 'USD', 'stripe: currency');
is($r->{json}{order_id}, 'st-1', 'stripe: order id');
my $pi = $r->{json}{payment_id};
like($pi, qr/^pi_/, 'stripe: payment intent id');

my ($seen) = grep { $_->{target} eq '/v1/payment_intents' }
             $mock->{stripe}->requests;
like($seen->{body}, qr/metadata\[sku\]=a%3Db%26c/, 'stripe: metadata percent-encoded');
like($seen->{body}, qr/description=Caf%C3%A9%20%26%20co/, 'stripe: UTF-8 encoded');
like($seen->{header}{'idempotency-key'}, qr/^[0-9a-f]{40}$/,
     'stripe: a derived Idempotency-Key');

$r = get("/payments/stripe/$pi");
is($r->{status}, 200, 'stripe: read') or diag $r->{body};
shape_ok($r, 'stripe read');
is($r->{json}{payment_id}, $pi, 'stripe: same payment');

$r = post("/payments/stripe/$pi/refund", { amount => 500, reason => 'dup' });
is($r->{status}, 200, 'stripe: refund') or diag $r->{body};
is($r->{json}{status}, 'refunded', 'stripe: refunded');
is($r->{json}{amount}, 500, 'stripe: partial amount');
is($r->{json}{payment_id}, $pi, 'stripe: refund names the payment');

# the API under another prefix

$r = get("/api/v1/payments/stripe/$pi");
is($r->{status}, 200, 'another location prefix works');

# idempotent retry: the same order twice is one charge

$mock->{stripe}->clear;
my $a1 = post('/payments', { %order, provider => 'stripe', order_id => 'st-retry' });
my $a2 = post('/payments', { %order, provider => 'stripe', order_id => 'st-retry' });
is($a1->{status}, 201, 'retry: first');
is($a2->{status}, 201, 'retry: second');
is($a2->{json}{payment_id}, $a1->{json}{payment_id}, 'retry: same payment');
my @keys = map { $_->{header}{'idempotency-key'} } $mock->{stripe}->requests;
is(scalar @keys, 2, 'retry: two calls reached Stripe');
is($keys[0], $keys[1], 'retry: with the same Idempotency-Key');

$mock->{stripe}->clear;
$r = post('/payments', { %order, provider => 'stripe', order_id => 'st-key' },
          'Idempotency-Key' => 'client-key-1');
is((($mock->{stripe}->requests)[0] // {})->{header}{'idempotency-key'},
   'client-key-1', "the client's Idempotency-Key goes to Stripe");

$r = post('/payments', { %order, provider => 'stripe', order_id => 'st-key' },
          'Idempotency-Key' => 'bad key!');
is($r->{status}, 400, 'a malformed Idempotency-Key: 400');

# X-Request-Id: the inbound $request_id

my ($last) = ($mock->{stripe}->requests)[-1];
like($last->{header}{'x-request-id'}, qr/^[0-9a-f]{32}$/, 'X-Request-Id sent');

# Toss: confirm, read, cancel

$mock->{toss}->clear;
$r = post('/payments', { %order, amount => 15000, currency => 'KRW',
                         provider => 'toss', order_id => 'toss-order-1',
                         payment_key => 'tgen_20240213121757' },
          'Idempotency-Key' => 'toss-key-1');
is($r->{status}, 201, 'toss: confirmed') or diag $r->{body};
shape_ok($r, 'toss confirm');
is($r->{json}{amount}, 15000, 'toss: 15000 KRW, no decimals');
is($r->{json}{payment_id}, 'tgen_20240213121757', 'toss: the paymentKey');
is((($mock->{toss}->requests)[0] // {})->{header}{'idempotency-key'},
   'toss-key-1', 'toss: Idempotency-Key header');

$r = get('/payments/toss/tgen_20240213121757');
is($r->{status}, 200, 'toss: read');
is($r->{json}{status}, 'completed', 'toss: DONE is completed');

$r = post('/payments/toss/tgen_20240213121757/refund', { reason => '고객 변심' });
is($r->{status}, 200, 'toss: cancelled') or diag $r->{body};
is($r->{json}{status}, 'refunded', 'toss: a paid payment cancelled is refunded');

$r = post('/payments', { %order, amount => 15000, currency => 'KRW',
                         provider => 'toss', order_id => 'toss-order-2' });
is($r->{status}, 400, 'toss: no payment_key: 400');
like($r->{json}{detail}, qr/payment_key/, 'toss: names payment_key');

# PayPal: token, order, capture, refund

$mock->{paypal}->clear;
$r = post('/payments', { %order, provider => 'paypal', order_id => 'pp-1' });
is($r->{status}, 201, 'paypal: order created') or diag $r->{body};
shape_ok($r, 'paypal create');
is($r->{json}{status}, 'pending', 'paypal: CREATED is pending');
is($r->{json}{amount}, 1050, 'paypal: "10.50" back to 1050');
my $pp = $r->{json}{payment_id};
my @pr = $mock->{paypal}->requests;
is($pr[0]{target}, '/v1/oauth2/token', 'paypal: token first');
is($pr[1]{target}, '/v2/checkout/orders', 'paypal: then the order');
like($pr[1]{body}, qr/"value":"10\.50"/, 'paypal: decimal string on the wire');
ok($pr[1]{header}{'paypal-request-id'}, 'paypal: PayPal-Request-Id');

$r = post("/payments/paypal/$pp/refund", { reason => 'not yet' });
is($r->{status}, 409, 'paypal: nothing captured to refund: 409');

$r = post("/payments/paypal/$pp/capture", {});
is($r->{status}, 200, 'paypal: captured') or diag $r->{body};
is($r->{json}{status}, 'completed', 'paypal: capture completed');

$r = get("/payments/paypal/$pp");
is($r->{status}, 200, 'paypal: read');
is($r->{json}{order_id}, 'pp-1', 'paypal: order id');

$r = post("/payments/paypal/$pp/refund", { amount => 250, reason => 'partial' });
is($r->{status}, 200, 'paypal: refunded') or diag $r->{body};
is($r->{json}{status}, 'refunded', 'paypal: refunded');
is($r->{json}{amount}, 250, 'paypal: partial amount');
my ($refund) = grep { $_->{target} =~ m{/refund$} } $mock->{paypal}->requests;
like($refund->{body}, qr/"value":"2\.50","currency_code":"USD"/,
     'paypal: refund amount as a decimal string');

my @tokens = grep { $_->{target} eq '/v1/oauth2/token' } $mock->{paypal}->requests;
is(scalar @tokens, 1, 'paypal: one token for all calls, both workers');

$r = post('/payments', { %order, amount => 402, provider => 'paypal',
                         order_id => 'pp-decline' });
is($r->{status}, 402, 'paypal: declined: 402');
is($r->{json}{provider_code}, 'INSTRUMENT_DECLINED', 'paypal: provider code');

$r = post('/payments/capture', {});
is($r->{status}, 404, 'capture needs a payment');
$r = post("/payments/stripe/$pi/capture", {});
is($r->{status}, 404, 'capture is PayPal only');

# Square: the idempotency key in the body; a refund of all reads first

$mock->{square}->clear;
$r = post('/payments', { %order, provider => 'square', order_id => 'sq-1',
                         source => 'cnon:card-nonce-ok' },
          'Idempotency-Key' => 'sq-key-1');
is($r->{status}, 201, 'square: paid') or diag $r->{body};
shape_ok($r, 'square create');
my $sq = $r->{json}{payment_id};
my ($sqreq) = $mock->{square}->requests;
is(decode_json($sqreq->{body})->{idempotency_key}, 'sq-key-1',
   'square: the key travels in the body');

$r = post("/payments/square/$sq/refund", { reason => 'all of it' });
is($r->{status}, 200, 'square: full refund') or diag $r->{body};
is($r->{json}{status}, 'processing', 'square: PENDING refund is processing');
is($r->{json}{amount}, 1050, 'square: the amount read from the payment');

$r = post('/payments', { %order, provider => 'square', order_id => 'sq-2',
                         currency => 'EUR', source => 'x' });
is($r->{status}, 400, 'square: a currency not configured: 400');

# Coinbase: charge, read, cancel (over TLS, verified against ca.crt)

$r = post('/payments', { %order, provider => 'coinbase', order_id => 'cb-1' });
is($r->{status}, 201, 'coinbase: charge')
    or diag(join "\n", grep { /coinbase/ } split /\n/, $gw->error_log);
shape_ok($r, 'coinbase create');
is($r->{json}{status}, 'pending', 'coinbase: NEW is pending');
is($r->{json}{amount}, 1050, 'coinbase: "10.50" is 1050');
my $cb = $r->{json}{payment_id};

$r = get("/payments/coinbase/$cb");
is($r->{status}, 200, 'coinbase: read');
is($r->{json}{order_id}, 'cb-1', 'coinbase: order id from metadata');

$r = post("/payments/coinbase/$cb/refund", { reason => 'unpaid' });
is($r->{status}, 200, 'coinbase: cancel');
is($r->{json}{status}, 'cancelled', 'coinbase: CANCELED is cancelled');

# declines carry the provider's code and message

for my $p (qw(stripe square)) {
    $r = post('/payments', { %order, amount => 402, provider => $p,
                             order_id => "$p-402", source => 'x' });
    is($r->{status}, 402, "$p: declined: 402") or diag $r->{body};
    like($r->{headers}{'content-type'}, qr{application/problem\+json},
         "$p: a problem body");
    ok($r->{json}{provider_code} && $r->{json}{provider_message},
       "$p: provider code and message");
}

$r = post('/payments', { %order, amount => 402, currency => 'KRW',
                         provider => 'toss', order_id => 'toss-402',
                         payment_key => 'tgen_402' });
is($r->{status}, 402, 'toss: declined: 402');
is($r->{json}{provider_code}, 'REJECT_CARD_PAYMENT', 'toss: its code');

# invalid input: 400 naming the field

my @bad = (
    [ 'not json', 'body' ],
    [ { %order, order_id => 'o', amount => 10.5 }, 'amount' ],
    [ { %order, order_id => 'o', amount => '1050' }, 'amount' ],
    [ { %order, order_id => 'o', currency => 'XXX' }, 'currency' ],
    [ { %order, order_id => 'a/b' }, 'order_id' ],
    [ { %order, order_id => 'o', provider => 'nope' }, 'provider' ],
    [ { amount => 1, currency => 'USD', order_id => 'o' }, 'customer_id' ],
    [ { %order, order_id => 'o', currency => 'KWD' }, 'currency' ],
);

for my $b (@bad) {
    $r = post('/payments', $b->[0]);
    is($r->{status}, 400, "400 for a bad $b->[1]");
    like($r->{json}{detail} // '', qr/"\Q$b->[1]\E"/, "the problem names $b->[1]");
}

$r = post('/payments/stripe/pi_x/refund', { amount => 5 });
is($r->{status}, 400, 'refund without reason: 400');
like($r->{json}{detail}, qr/reason/, 'names reason');

$r = get('/payments/stripe/pi_missing');
is($r->{status}, 404, 'unknown payment: 404');
$r = get('/payments/nope/x');
is($r->{status}, 404, 'unknown provider: 404');
$r = $gw->request('DELETE', '/payments/stripe/pi_x');
is($r->{status}, 405, 'DELETE: 405');

# provider selection: the first configured that takes the currency

$r = post('/payments', { %order, order_id => 'auto-1' });
is($r->{json}{provider}, 'stripe', 'USD without a provider: stripe');
$r = post('/payments', { %order, currency => 'JPY', amount => 500,
                         order_id => 'auto-2', source => 'cnon:ok' });
is($r->{json}{provider}, 'stripe', 'JPY: stripe first');
is($r->{json}{amount}, 500, 'JPY: 500 yen is 500');

# timeouts, failures, a provider that is down

$mock->{stripe}->set_mode('slow');
my $t0 = time;
$r = post('/payments', { %order, provider => 'stripe', order_id => 'slow-1' });
is($r->{status}, 504, 'slow provider: 504') or diag $r->{body};
ok($r->{headers}{'retry-after'}, 'slow provider: Retry-After');
ok(time - $t0 < ($VG ? 30 : 5), 'answered at the timeout');

$mock->{stripe}->set_mode('failing');
$r = post('/payments', { %order, provider => 'stripe', order_id => 'fail-1' });
is($r->{status}, 502, 'failing provider: 502');
is($r->{headers}{'retry-after'}, '7', "the provider's Retry-After");

$mock->{stripe}->set_mode('down');
$r = post('/payments', { %order, provider => 'stripe', order_id => 'down-1' });
is($r->{status}, 502, 'provider down: 502');
ok($r->{headers}{'retry-after'}, 'provider down: Retry-After');
$mock->{stripe}->set_mode('healthy');

# a client that goes away while its call is in flight

$mock->{coinbase}->set_mode('slow');
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
        or die;
    my $body = $J->encode({ %order, provider => 'coinbase', order_id => 'gone' });
    print $s "POST /payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";
    sleep($VG ? 2 : 0.3);
    close $s;
}
sleep($VG ? 8 : 2.5);
like($gw->error_log, qr/coinbase call cancelled, the client is gone/,
     'a client gone cancels its call');
$mock->{coinbase}->set_mode('healthy');

# 100 concurrent requests from one client

{
    my $n = 100;
    my @socks;
    for my $i (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
            or die "connect: $!";
        my $body = $J->encode({ %order, provider => ($i % 2 ? 'stripe' : 'square'),
                                source => 'cnon:ok', order_id => "many-$i" });
        print $s "POST /payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            . "Content-Type: application/json\r\nContent-Length: "
            . length($body) . "\r\n\r\n$body";
        push @socks, $s;
    }
    my $good = 0;
    for my $i (1 .. $n) {
        my $s = $socks[$i - 1];
        local $/;
        my $resp = Gateway::parse_response(<$s> // '');
        my $j = eval { decode_json($resp->{body}) } // {};
        $good++ if $resp->{status} == 201 && $j->{order_id} eq "many-$i";
    }
    is($good, $n, "$n concurrent requests all answered, each its own");
}

# a reload with calls in flight: every call answered

$mock->{stripe}->set_mode('latency');
$mock->{square}->set_mode('slow');
{
    my @socks;
    for my $i (1 .. 6) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
            or die;
        my $body = $J->encode({ %order, provider => 'square', source => 'cnon:ok',
                                order_id => "reload-$i" });
        print $s "POST /payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            . "Content-Type: application/json\r\nContent-Length: "
            . length($body) . "\r\n\r\n$body";
        push @socks, $s;
    }
    sleep($VG ? 2 : 0.3);
    $gw->reload(http => $conf);
    my $good = 0;
    for my $s (@socks) {
        local $/;
        my $resp = Gateway::parse_response(<$s> // '');
        $good++ if $resp->{status} == 201;
    }
    is($good, 6, 'reload: the calls in flight were all answered');
}
$mock->{square}->set_mode('healthy');
$mock->{stripe}->set_mode('healthy');

$r = post('/payments', { %order, provider => 'paypal', order_id => 'after-reload' });
is($r->{status}, 201, 'after reload: paypal works');
@tokens = grep { $_->{target} eq '/v1/oauth2/token' } $mock->{paypal}->requests;
is(scalar @tokens, 1, 'after reload: the token kept in the zone');

$gw->stop;

# logs: one JSON line per call, no secrets

my $log = $gw->error_log;
my @lines = $log =~ /(\{"outbound":\{.*?\}\})/g;
ok(@lines > 100, 'one outbound JSON line per call (' . scalar(@lines) . ')');
my ($line) = grep { /"provider":"stripe"/ && /"status":200/ } @lines;
like($line, qr/"method":"POST","url":"http:[^"]+","status":200,"duration_ms":\d+,"request_id":"[0-9a-f]{32}"/,
     'provider, method, URL, status, duration, request id');
for my $name (sort keys %MockProviders::SECRET) {
    my $secret = (split /:/, $MockProviders::SECRET{$name})[-1];
    unlike($log, qr/\Q$secret\E/, "no $name secret in the error log");
}
unlike($log, qr/A21AAmock/, 'no PayPal token in the error log');
unlike($log, qr/open socket .* left in connection/, 'no socket left at exit');

# the PayPal token is refreshed before it expires, in the background:
# a token that lives 61 s is refreshed in its last minute, at once

my $gw2 = Gateway->new(workers => 2);
$gw2->{ports}{paypal} = $gw->port('paypal');
$mock->write_keys($gw2);
$mock->set_token_ttl(61);
$mock->{paypal}->clear;
$gw2->start(http => <<"CONF");
    payment_provider paypal   key_file=%%DIR%%/paypal.key
                              base_url=http://127.0.0.1:%%PORT:paypal%%;
    payment_provider coinbase key_file=%%DIR%%/coinbase.key
                              base_url=https://localhost:$tls_port
                              connect_timeout=$TLS_CONNECT;
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /payments { payment_api; }
    }
CONF
$gw = $gw2;
$r = post('/payments', { %order, provider => 'paypal', order_id => 'pp-r1' });
is($r->{status}, 201, 'paypal: first call fetches a token');
@tokens = grep { $_->{target} eq '/v1/oauth2/token' } $mock->{paypal}->requests;
is(scalar @tokens, 1, 'paypal: one token');
sleep 1.2;
$r = post('/payments', { %order, provider => 'paypal', order_id => 'pp-r2' });
is($r->{status}, 201, 'paypal: served with the old token while refreshing');
sleep($VG ? 4 : 0.5);
@tokens = grep { $_->{target} eq '/v1/oauth2/token' } $mock->{paypal}->requests;
is(scalar @tokens, 2, 'paypal: refreshed once, in the background');
$r = post('/payments', { %order, provider => 'paypal', order_id => 'pp-r3' });
is($r->{status}, 201, 'paypal: the new token works');

# TLS is verified: without the test CA, the Coinbase front is refused

$r = post('/payments', { %order, provider => 'coinbase', order_id => 'cb-tls' });
is($r->{status}, 502, 'an untrusted provider certificate: 502');
like($gw2->error_log, qr/"provider":"coinbase".*"status":0.*"error":"[^"]*(certificate|SSL)/i,
     'the TLS failure logged');

$gw2->stop;
$tls->stop;
like($gw2->error_log, qr/paypal token fetched.*\n.*paypal token fetched/s,
     'both fetches logged');

done_testing();
