package MockProviders;

# Stand-ins for Stripe, Toss Payments, PayPal, Square and Coinbase Commerce.
# Each checks the wire format the way the real API would (authentication,
# content type, encoding, idempotency) with its own Perl code, never the
# module's, and answers in the provider's own shapes.  A request that gets
# the wire format wrong is answered 422 with code MOCK_WIRE_FORMAT and
# what was wrong, so a test failure says why.
#
#   my $m = MockProviders->new(gw => $gw);       # ports from the gateway
#   MockProviders->new(gw => $gw, slow => 4);    # 'slow' answers after 4 s
#   $m->{stripe}->set_mode('slow');              # healthy|slow|failing|down
#   $m->{stripe}->requests;                      # what Stripe received
#
# Amount 402 (minor units) is declined by every provider.  State (objects
# by id) lives in files, because MockServer forks per connection.

use strict;
use warnings;

use Digest::SHA qw(sha1_hex);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64;
use Time::HiRes qw(sleep);

use MockServer;

our %SECRET = (
    stripe => 'sk_test_MOCKSTRIPE0001',
    toss => 'test_sk_MOCKTOSS0001',
    paypal => 'MOCKCLIENT:MOCKPAYPALSECRET0001',
    square => 'EAAA_MOCKSQUARE0001',
    coinbase => 'MOCKCOINBASE0001',
);

my $JSON = JSON::PP->new->canonical;
# the state the servers' processes share (MockServer::process_dir: one
# directory per test process), made by the first new() there
my $STATE = '';

sub state_dir { return $STATE = MockServer::process_dir('mockpay'); }

sub new {
    my ($class, %args) = @_;
    my $gw = $args{gw};
    state_dir();
    my $self = bless {}, $class;
    my $slow = $ENV{VALGRIND} ? 6 : $args{slow} // 2;
    $self->set_token_ttl($args{token_ttl} // 32400);

    for my $name (qw(stripe toss paypal square coinbase)) {
        my $handler = $class->can("h_$name");
        $self->{$name} = MockServer->new(port => $gw->port($name),
            handler => sub {
                my ($req, $mode) = @_;
                return { close => 1 } if $mode eq 'down';
                sleep($slow) if $mode eq 'slow';
                sleep 0.05 if $mode eq 'latency';
                if ($mode eq 'failing') {
                    return (503, { 'Content-Type' => 'application/json',
                                   'Retry-After' => '7' },
                            '{"error":"unavailable"}');
                }
                return $handler->($req, token_ttl());
            });
    }

    return $self;
}

# PayPal's expires_in for the tokens it hands out from now on
sub set_token_ttl {
    my ($self, $ttl) = @_;
    open my $f, '>', "$STATE/ttl.tmp" or die; print $f $ttl; close $f;
    rename "$STATE/ttl.tmp", "$STATE/ttl";
}

sub token_ttl { open my $f, '<', "$STATE/ttl" or return 32400; local $/;
                return scalar <$f>; }

sub write_keys {
    my ($self, $gw) = @_;
    $gw->write_file("$_.key", "$SECRET{$_}\n") for keys %SECRET;
}

sub store { my ($id, $obj) = @_; open my $f, '>', "$STATE/$id" or die;
            print $f $JSON->encode($obj); close $f; }
sub fetch { my ($id) = @_; open my $f, '<', "$STATE/$id" or return undef;
            local $/; return $JSON->decode(scalar <$f>); }

sub json { my ($status, $obj, %h) = @_;
           return ($status, { 'Content-Type' => 'application/json', %h },
                   $JSON->encode($obj)); }

sub wire { my ($why) = @_;
           return json(422, { code => 'MOCK_WIRE_FORMAT', message => $why,
                              error => { code => 'MOCK_WIRE_FORMAT',
                                         message => $why } }); }

sub form_decode {
    my ($body) = @_;
    my @pairs;
    for (split /&/, $body) {
        my ($k, $v) = split /=/, $_, 2;
        for ($k, $v) { $_ //= ''; tr/+/ /; s/%([0-9A-Fa-f]{2})/chr hex $1/ge; }
        push @pairs, [$k, $v];
    }
    return @pairs;
}

sub decode_body {
    my ($req) = @_;
    return eval { decode_json($req->{body}) };
}

sub request_id_ok { ($_[0]{header}{'x-request-id'} // '') =~ /^[0-9a-f]{32}$/ }

# Stripe: form bodies, Bearer, Idempotency-Key, amounts in minor units

sub h_stripe {
    my ($req) = @_;
    return wire('Authorization') unless ($req->{header}{authorization} // '')
        eq "Bearer $SECRET{stripe}";
    return wire('X-Request-Id') unless request_id_ok($req);

    my ($path) = split /\?/, $req->{target};

    if ($req->{method} eq 'POST') {
        return wire('Content-Type') unless ($req->{header}{'content-type'}
            // '') eq 'application/x-www-form-urlencoded';
        my $key = $req->{header}{'idempotency-key'}
            // return wire('Idempotency-Key');
        return wire('body not form-encoded')
            if $req->{body} =~ /[^A-Za-z0-9%&=\[\]._~-]/;
        my %f; my %meta;
        for (form_decode($req->{body})) {
            my ($k, $v) = @$_;
            if ($k =~ /^metadata\[(.+)\]$/) { $meta{$1} = $v } else { $f{$k} = $v }
        }

        if ($path eq '/v1/payment_intents') {
            return wire('amount') unless ($f{amount} // '') =~ /^[1-9]\d*$/;
            return wire('currency') unless ($f{currency} // '') =~ /^[a-z]{3}$/;
            if ($f{amount} == 402) {
                return json(402, { error => { type => 'card_error',
                    code => 'card_declined', decline_code => 'insufficient_funds',
                    message => 'Your card has insufficient funds.' } });
            }
            my $id = 'pi_' . substr(sha1_hex("stripe$key"), 0, 20);
            my $obj = fetch($id) // { id => $id, object => 'payment_intent',
                amount => $f{amount} + 0, currency => $f{currency},
                status => $f{confirm} ? 'succeeded' : 'requires_payment_method',
                created => 1700000000, metadata => \%meta,
                description => $f{description} };
            store($id, $obj);
            return json(200, $obj);
        }

        if ($path eq '/v1/refunds') {
            my $pi = fetch($f{payment_intent} // '')
                // return json(404, { error => { type => 'invalid_request_error',
                    code => 'resource_missing', message => 'No such payment_intent' } });
            $pi->{status} = 'canceled' if $pi->{status} ne 'succeeded';
            return json(200, { id => 're_' . substr(sha1_hex($key), 0, 16),
                object => 'refund', amount => ($f{amount} // $pi->{amount}) + 0,
                currency => $pi->{currency}, payment_intent => $pi->{id},
                status => 'succeeded', created => 1700000100 });
        }
    }

    if ($req->{method} eq 'GET' && $path =~ m{^/v1/payment_intents/([\w-]+)$}) {
        my $obj = fetch($1) // return json(404, { error => {
            type => 'invalid_request_error', code => 'resource_missing',
            message => "No such payment_intent: '$1'" } });
        return json(200, $obj);
    }

    return json(404, { error => { type => 'invalid_request_error',
                                  message => "Unrecognized request URL" } });
}

# Toss: JSON, Basic base64(secretKey + ":"), Idempotency-Key

sub h_toss {
    my ($req) = @_;
    my $want = 'Basic ' . encode_base64("$SECRET{toss}:", '');
    if (($req->{header}{authorization} // '') ne $want) {
        return json(401, { code => 'UNAUTHORIZED_KEY',
                           message => 'mock: Basic base64(secretKey + ":")' });
    }
    return wire('X-Request-Id') unless request_id_ok($req);

    my ($path) = split /\?/, $req->{target};

    if ($req->{method} eq 'POST') {
        return wire('Content-Type') unless ($req->{header}{'content-type'}
            // '') eq 'application/json';
        return wire('Idempotency-Key') unless $req->{header}{'idempotency-key'};
        my $b = decode_body($req) // return wire('JSON body');

        if ($path eq '/v1/payments/confirm') {
            return wire('amount is a number') unless defined $b->{amount}
                && !ref $b->{amount} && $req->{body} =~ /"amount":\d+[,}]/;
            return wire('paymentKey/orderId')
                unless $b->{paymentKey} && $b->{orderId};
            if ($b->{amount} == 402) {
                return json(400, { code => 'REJECT_CARD_PAYMENT',
                    message => '한도초과 혹은 잔액부족으로 결제에 실패했습니다.' });
            }
            my $obj = { paymentKey => $b->{paymentKey}, orderId => $b->{orderId},
                status => 'DONE', totalAmount => $b->{amount} + 0,
                balanceAmount => $b->{amount} + 0, currency => 'KRW',
                method => '카드', requestedAt => '2024-02-13T12:17:57+09:00',
                approvedAt => '2024-02-13T12:18:14+09:00' };
            store("toss-$b->{paymentKey}", $obj);
            return json(200, $obj);
        }

        if ($path =~ m{^/v1/payments/([\w-]+)/cancel$}) {
            my $obj = fetch("toss-$1") // return json(404,
                { code => 'NOT_FOUND_PAYMENT', message => 'no payment' });
            return wire('cancelReason') unless $b->{cancelReason};
            $obj->{status} = defined $b->{cancelAmount}
                ? 'PARTIAL_CANCELED' : 'CANCELED';
            store("toss-$1", $obj);
            return json(200, $obj);
        }
    }

    if ($req->{method} eq 'GET' && $path =~ m{^/v1/payments/([\w-]+)$}) {
        my $obj = fetch("toss-$1") // return json(404,
            { code => 'NOT_FOUND_PAYMENT', message => 'no payment' });
        return json(200, $obj);
    }

    return json(404, { code => 'NOT_FOUND', message => 'mock: no such path' });
}

# PayPal: an OAuth token first (Basic client_id:secret), then Bearer calls
# with PayPal-Request-Id; amounts are decimal strings

sub h_paypal {
    my ($req, $ttl) = @_;
    my ($path) = split /\?/, $req->{target};

    if ($path eq '/v1/oauth2/token') {
        my $want = 'Basic ' . encode_base64($SECRET{paypal}, '');
        return json(401, { error => 'invalid_client',
                           error_description => 'Client Authentication failed' })
            unless ($req->{header}{authorization} // '') eq $want;
        return wire('grant_type') unless $req->{body} eq
            'grant_type=client_credentials';
        return wire('Content-Type') unless ($req->{header}{'content-type'}
            // '') eq 'application/x-www-form-urlencoded';
        return json(200, { scope => 'https://uri.paypal.com/services/payments',
            access_token => 'A21AAmock' . int(rand(1e9)),
            token_type => 'Bearer', app_id => 'APP-MOCK', expires_in => $ttl,
            nonce => 'mock' });
    }

    return json(401, { name => 'AUTHENTICATION_FAILURE',
                       message => 'mock: Bearer token from /v1/oauth2/token' })
        unless ($req->{header}{authorization} // '') =~ /^Bearer A21AAmock\d+$/;
    return wire('X-Request-Id') unless request_id_ok($req);

    if ($req->{method} eq 'POST') {
        return wire('Content-Type') unless ($req->{header}{'content-type'}
            // '') eq 'application/json';
        my $rid = $req->{header}{'paypal-request-id'}
            // return wire('PayPal-Request-Id');
        my $b = decode_body($req) // return wire('JSON body');

        if ($path eq '/v2/checkout/orders') {
            my $u = $b->{purchase_units}[0] // return wire('purchase_units');
            my $v = $u->{amount}{value};
            return wire('amount.value is a decimal string')
                unless defined $v && $req->{body} =~ /"value":"\d+(\.\d{1,3})?"/;
            if ($v eq '4.02') {
                return json(422, { name => 'UNPROCESSABLE_ENTITY',
                    details => [{ issue => 'INSTRUMENT_DECLINED',
                                  description => 'The instrument was declined.' }],
                    message => 'The requested action could not be performed' });
            }
            my $id = uc substr(sha1_hex("paypal$rid"), 0, 17);
            my $obj = fetch("pp-$id") // { id => $id, status => 'CREATED',
                intent => 'CAPTURE', create_time => '2024-01-01T00:00:00Z',
                purchase_units => [{ reference_id => $u->{reference_id},
                    amount => $u->{amount} }] };
            store("pp-$id", $obj);
            return json(201, $obj);
        }

        if ($path =~ m{^/v2/checkout/orders/(\w+)/capture$}) {
            my $obj = fetch("pp-$1") // return json(404,
                { name => 'RESOURCE_NOT_FOUND', message => 'no order' });
            $obj->{status} = 'COMPLETED';
            $obj->{purchase_units}[0]{payments}{captures} = [{
                id => 'CAP' . substr(sha1_hex($1), 0, 14), status => 'COMPLETED',
                amount => $obj->{purchase_units}[0]{amount} }];
            store("pp-$1", $obj);
            store('pp-cap-' . $obj->{purchase_units}[0]{payments}{captures}[0]{id},
                  { order => $1 });
            return json(201, $obj);
        }

        if ($path =~ m{^/v2/payments/captures/(\w+)/refund$}) {
            my $cap = fetch("pp-cap-$1") // return json(404,
                { name => 'RESOURCE_NOT_FOUND', message => 'no capture' });
            my $obj = fetch("pp-$cap->{order}");
            my $c = $obj->{purchase_units}[0]{payments}{captures}[0];
            $c->{status} = $b->{amount} ? 'PARTIALLY_REFUNDED' : 'REFUNDED';
            store("pp-$cap->{order}", $obj);
            return json(201, { id => 'REF' . substr(sha1_hex($rid), 0, 14),
                status => 'COMPLETED',
                amount => $b->{amount} // $c->{amount} });
        }
    }

    if ($req->{method} eq 'GET' && $path =~ m{^/v2/checkout/orders/(\w+)$}) {
        my $obj = fetch("pp-$1") // return json(404,
            { name => 'RESOURCE_NOT_FOUND', message => 'no order' });
        return json(200, $obj);
    }

    return json(404, { name => 'NOT_FOUND', message => 'mock: no such path' });
}

# Square: Bearer, Square-Version, the idempotency key in the body

sub h_square {
    my ($req) = @_;
    return json(401, { errors => [{ category => 'AUTHENTICATION_ERROR',
                                    code => 'UNAUTHORIZED', detail => 'mock' }] })
        unless ($req->{header}{authorization} // '') eq "Bearer $SECRET{square}";
    return wire('Square-Version') unless ($req->{header}{'square-version'}
        // '') =~ /^\d{4}-\d\d-\d\d$/;
    return wire('X-Request-Id') unless request_id_ok($req);
    return wire('no Idempotency-Key header at Square')
        if $req->{header}{'idempotency-key'};

    my ($path) = split /\?/, $req->{target};

    if ($req->{method} eq 'POST') {
        my $b = decode_body($req) // return wire('JSON body');
        my $key = $b->{idempotency_key} // return wire('idempotency_key');
        my $m = $b->{amount_money} // return wire('amount_money');
        return wire('amount_money.amount is an integer')
            unless $req->{body} =~ /"amount":\d+[,}]/;

        if ($path eq '/v2/payments') {
            return wire('source_id') unless $b->{source_id};
            if ($m->{amount} == 402) {
                return json(402, { errors => [{ category => 'PAYMENT_METHOD_ERROR',
                    code => 'CARD_DECLINED', detail => 'Card declined.' }] });
            }
            my $id = substr(sha1_hex("square$key"), 0, 24);
            my $obj = fetch("sq-$id") // { id => $id, status => 'COMPLETED',
                amount_money => $m, created_at => '2024-01-01T00:00:00.000Z',
                reference_id => $b->{reference_id}, source_type => 'CARD' };
            store("sq-$id", $obj);
            return json(200, { payment => $obj });
        }

        if ($path eq '/v2/refunds') {
            my $p = fetch("sq-" . ($b->{payment_id} // ''))
                // return json(404, { errors => [{ category => 'INVALID_REQUEST_ERROR',
                    code => 'NOT_FOUND', detail => 'no payment' }] });
            return wire('refund amount') if $m->{amount} > $p->{amount_money}{amount};
            return json(200, { refund => { id => substr(sha1_hex($key), 0, 20),
                status => 'PENDING', amount_money => $m,
                payment_id => $p->{id}, created_at => '2024-01-01T00:01:00.000Z' } });
        }
    }

    if ($req->{method} eq 'GET' && $path =~ m{^/v2/payments/(\w+)$}) {
        my $obj = fetch("sq-$1") // return json(404, { errors => [{
            category => 'INVALID_REQUEST_ERROR', code => 'NOT_FOUND',
            detail => 'no payment' }] });
        return json(200, { payment => $obj });
    }

    return json(404, { errors => [{ code => 'NOT_FOUND', detail => 'mock' }] });
}

# Coinbase Commerce: X-CC-Api-Key and X-CC-Version: 2018-03-22

sub h_coinbase {
    my ($req) = @_;
    return json(401, { error => { type => 'authorization_error',
                                  message => 'mock: X-CC-Api-Key' } })
        unless ($req->{header}{'x-cc-api-key'} // '') eq $SECRET{coinbase};
    return json(400, { error => { type => 'invalid_request',
                                  message => 'mock: X-CC-Version' } })
        unless ($req->{header}{'x-cc-version'} // '') eq '2018-03-22';
    return wire('X-Request-Id') unless request_id_ok($req);

    my ($path) = split /\?/, $req->{target};

    if ($req->{method} eq 'POST' && $path eq '/charges') {
        my $b = decode_body($req) // return wire('JSON body');
        return wire('pricing_type') unless ($b->{pricing_type} // '') eq 'fixed_price';
        return wire('local_price.amount is a decimal string')
            unless $req->{body} =~ /"local_price":\{"amount":"\d+(\.\d+)?"/;
        my $id = join '-', unpack 'A8A4A4A4A12',
            sha1_hex('cb' . ($b->{metadata}{idempotency_key} // rand));
        my $obj = { id => $id, code => uc substr($id, 0, 8),
            created_at => '2024-01-01T00:00:00Z', pricing_type => 'fixed_price',
            pricing => { local => $b->{local_price} },
            metadata => $b->{metadata}, timeline => [
                { time => '2024-01-01T00:00:00Z', status => 'NEW' }] };
        store("cb-$id", $obj);
        return json(201, { data => $obj });
    }

    if ($req->{method} eq 'POST' && $path =~ m{^/charges/([\w-]+)/cancel$}) {
        my $obj = fetch("cb-$1") // return json(404, { error => {
            type => 'not_found', message => 'Not found' } });
        push @{ $obj->{timeline} }, { time => '2024-01-01T00:05:00Z',
                                      status => 'CANCELED' };
        store("cb-$1", $obj);
        return json(200, { data => $obj });
    }

    if ($req->{method} eq 'GET' && $path =~ m{^/charges/([\w-]+)$}) {
        my $obj = fetch("cb-$1") // return json(404, { error => {
            type => 'not_found', message => 'Not found' } });
        return json(200, { data => $obj });
    }

    return json(404, { error => { type => 'not_found', message => 'mock' } });
}

1;
