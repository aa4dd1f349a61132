# Client idempotency of the payments API, kept in integrations_store, on
# SQLite and on PostgreSQL: replays with Idempotent-Replayed, 422 for a
# key reused with another request, 409 while the first is in flight,
# non-final outcomes not stored (the retry calls the provider again with
# the same provider key), refunds, key scopes, expiry and the background
# purge, and the records themselves, read back with sqlite3 / psql.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $IO = $VG ? 60 : 10;
my $J = JSON::PP->new->canonical;

# each backend's half has its own gateway and stand-ins
# (Store->each_backend)
my ($gw, $mock, $stripe);

# the mock's "slow" answers after 2 s (6 s under valgrind)
my $TIMEOUT = $VG ? '20s' : '8s';

sub conf {
    my ($st, $timeout) = @_;
    $timeout //= $TIMEOUT;
    return $st->directive . <<"CONF";
    integrations_outbound_bind  127.0.0.1;

    payment_provider stripe  key_file=%%DIR%%/stripe.key
                             base_url=http://127.0.0.1:%%PORT:stripe%%
                             timeout=$timeout;

    server {
        listen 127.0.0.1:%%PORT:gw%%;

        location /payments {
            payment_api;
        }

        location /scoped/payments {
            payment_api;
            payment_idempotency_scope \$http_x_client;
        }

        location /short/payments {
            payment_api;
            payment_idempotency_ttl 2s;
        }

        location = /metrics {
            integrations_status;
        }
    }
CONF
}

my %order = (provider => 'stripe', amount => 1050, currency => 'USD',
             customer_id => 'c-1', description => 'idempotent', source => 'pm_card_visa');

sub body { $J->encode({ %order, @_ }) }

sub post {
    my ($uri, $body, %h) = @_;
    my $r = $gw->request('POST', $uri, body => $body,
        headers => { 'Content-Type' => 'application/json', %h },
        timeout => $IO);
    $r->{json} = eval { decode_json($r->{body}) };
    return $r;
}

# the calls Stripe got with this Idempotency-Key
sub calls { Store::calls($stripe, $_[0]) }

sub metric {
    my ($name) = @_;
    my $m = $gw->get('/metrics')->{body};
    my ($v) = $m =~ /^\Q$name\E (\d+)$/m;
    return $v // 0;
}

Store->each_backend(sub {
    my ($backend) = @_;
    $gw = Gateway->new(workers => 2);
    $mock = MockProviders->new(gw => $gw);
    $mock->write_keys($gw);
    $stripe = $mock->{stripe};
    my $st = Store->new($backend, $gw);
    my $t = "[$backend]";

    $gw->start(http => conf($st));

    # the first request, then the same again

    my $b1 = body(order_id => "o-$backend-1");
    my $r = post('/payments', $b1, 'Idempotency-Key' => "k1-$backend");
    is($r->{status}, 201, "$t first request: 201") or diag $r->{body};
    ok(!exists $r->{headers}{'idempotent-replayed'},
       "$t   no Idempotent-Replayed on the first answer");
    is(calls("k1-$backend"), 1, "$t   one provider call, with the key");

    my $again = post('/payments', $b1, 'Idempotency-Key' => "k1-$backend");
    is($again->{status}, 201, "$t the same request again: 201");
    is($again->{headers}{'idempotent-replayed'}, 'true',
       "$t   Idempotent-Replayed: true");
    is($again->{body}, $r->{body}, "$t   the stored body, byte for byte");
    is($again->{headers}{'content-type'}, 'application/json',
       "$t   the stored content type");
    is(calls("k1-$backend"), 1, "$t   and no provider call");

    # the record in the database

    my ($row) = $st->sql("SELECT state, status, length(request_hash),"
                         . " content_type FROM integrations_idempotency"
                         . " WHERE idem_key = 'k1-$backend'");
    is_deeply($row, [1, 201, 64, 'application/json'],
              "$t the record: done, 201, a 64-digit hash");
    is($st->value("SELECT count(*) FROM integrations_idempotency"
                  . " WHERE scope LIKE '%c-1%' OR idem_key LIKE '%c-1%'"), 0,
       "$t   no client data outside the stored answer");

    # the key with another request

    $r = post('/payments', body(order_id => "o-$backend-other"),
              'Idempotency-Key' => "k1-$backend");
    is($r->{status}, 422, "$t the key with another body: 422");
    is($r->{headers}{'content-type'}, 'application/problem+json',
       "$t   problem+json");
    like($r->{json}{type} // '', qr/idempotency_key_reused$/, "$t   its type");
    is(calls("k1-$backend"), 1, "$t   no provider call");

    $r = post('/payments/stripe/pi_x/refund', '{"reason":"x"}',
              'Idempotency-Key' => "k1-$backend");
    is($r->{status}, 422, "$t the key on another path: 422");

    # a declined payment is final: replayed too

    $r = post('/payments', body(order_id => "o-$backend-402", amount => 402),
              'Idempotency-Key' => "k2-$backend");
    is($r->{status}, 402, "$t declined: 402") or diag $r->{body};
    $again = post('/payments', body(order_id => "o-$backend-402",
                                    amount => 402),
                  'Idempotency-Key' => "k2-$backend");
    is($again->{status}, 402, "$t   replayed: 402");
    is($again->{headers}{'idempotent-replayed'}, 'true', "$t   as a replay");
    is($again->{body}, $r->{body}, "$t   the same problem body");
    is($again->{headers}{'content-type'}, 'application/problem+json',
       "$t   the same content type");
    is(calls("k2-$backend"), 1, "$t   one provider call");

    # not final: a 5xx from the provider, then a connection it closed

    for my $case (['failing', 502], ['down', 502]) {
        my ($mode, $status) = @$case;
        my $key = "k3-$mode-$backend";
        my $b = body(order_id => "o-$backend-$mode");
        $stripe->set_mode($mode);
        $r = post('/payments', $b, 'Idempotency-Key' => $key);
        is($r->{status}, $status, "$t provider $mode: $status");
        ok(!exists $r->{headers}{'idempotent-replayed'}, "$t   not a replay");
        is($st->value("SELECT count(*) FROM integrations_idempotency"
                      . " WHERE idem_key = '$key'"), 0,
           "$t   nothing kept for the key");
        $stripe->set_mode('healthy');
        $r = post('/payments', $b, 'Idempotency-Key' => $key);
        is($r->{status}, 201, "$t   the retry reaches the provider: 201");
        ok(!exists $r->{headers}{'idempotent-replayed'}, "$t   not a replay");
        # (libcurl sends a request once more on a fresh connection when a
        # reused one is closed before any answer)
        ok(calls($key) >= 2, "$t   the provider saw the same key each time")
            or diag join "\n", map { "$_->{method} $_->{target}" }
                               $stripe->requests;
        $r = post('/payments', $b, 'Idempotency-Key' => $key);
        is($r->{headers}{'idempotent-replayed'}, 'true',
           "$t   then it is replayed");
    }

    # in flight: a duplicate meanwhile gets 409 with Retry-After

    {
        my $key = "k5-$backend";
        my $b = body(order_id => "o-$backend-slow");
        $stripe->set_mode('slow');
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:'
                                      . $gw->port('gw'), Timeout => $IO)
            or die "connect: $!";
        print $s "POST /payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            . "Content-Type: application/json\r\nIdempotency-Key: $key\r\n"
            . "Content-Length: " . length($b) . "\r\n\r\n$b";

        # the first is in the provider's hands once Stripe has it
        Store::wait_for(sub { calls($key) == 1 });

        $r = post('/payments', $b, 'Idempotency-Key' => $key);
        is($r->{status}, 409, "$t a duplicate in flight: 409");
        is($r->{headers}{'retry-after'}, '1', "$t   Retry-After: 1");
        like($r->{json}{type} // '', qr/idempotency_in_flight$/,
             "$t   its problem type");

        my $first = Gateway::parse_response(do { local $/; <$s> } // '');
        close $s;
        is($first->{status}, 201, "$t   the first finishes: 201");
        $stripe->set_mode('healthy');

        $r = post('/payments', $b, 'Idempotency-Key' => $key);
        is($r->{status}, 201, "$t   the duplicate, later: 201");
        is($r->{headers}{'idempotent-replayed'}, 'true', "$t   a replay");
        is($r->{body}, $first->{body}, "$t   of the first answer");
        is(calls($key), 1, "$t   one provider call in all");
    }

    # refunds

    {
        my $pi = post('/payments', body(order_id => "o-$backend-r"))->{json}
                 {payment_id};
        my $uri = "/payments/stripe/$pi/refund";
        $r = post($uri, '{"amount":500,"reason":"requested"}',
                  'Idempotency-Key' => "r1-$backend");
        is($r->{status}, 200, "$t refund: 200") or diag $r->{body};
        $again = post($uri, '{"amount":500,"reason":"requested"}',
                      'Idempotency-Key' => "r1-$backend");
        is($again->{headers}{'idempotent-replayed'}, 'true',
           "$t   the same refund again is a replay");
        is($again->{body}, $r->{body}, "$t   of the same answer");
        is(calls("r1-$backend"), 1, "$t   one refund call");
        $r = post($uri, '{"amount":400,"reason":"requested"}',
                  'Idempotency-Key' => "r1-$backend");
        is($r->{status}, 422, "$t   another amount with the key: 422");
    }

    # without a key nothing is kept

    my $before = $st->value("SELECT count(*) FROM integrations_idempotency");
    $r = post('/payments', body(order_id => "o-$backend-nokey"));
    is($r->{status}, 201, "$t without Idempotency-Key: 201");
    is($st->value("SELECT count(*) FROM integrations_idempotency"), $before,
       "$t   and no record");

    # scopes: the same key from two clients is two records

    my $bs = body(order_id => "o-$backend-s");
    $r = post('/scoped/payments', $bs, 'Idempotency-Key' => "s1-$backend",
              'X-Client' => 'alice');
    is($r->{status}, 201, "$t scoped: alice's first");
    $r = post('/scoped/payments', $bs, 'Idempotency-Key' => "s1-$backend",
              'X-Client' => 'bob');
    ok(!exists $r->{headers}{'idempotent-replayed'},
       "$t   bob's with the same key is not alice's replay");
    $r = post('/scoped/payments', $bs, 'Idempotency-Key' => "s1-$backend",
              'X-Client' => 'alice');
    is($r->{headers}{'idempotent-replayed'}, 'true',
       "$t   alice's again is her replay");
    is($st->value("SELECT count(*) FROM integrations_idempotency WHERE"
                  . " idem_key = 's1-$backend'"), 2,
       "$t   two records for one key");
    is($st->value("SELECT count(*) FROM integrations_idempotency WHERE"
                  . " scope LIKE '%alice%'"), 0,
       "$t   the identity is stored hashed");

    # expiry: past its TTL a key is new again; the purge deletes it

    $r = post('/short/payments', body(order_id => "o-$backend-t"),
              'Idempotency-Key' => "t1-$backend");
    is($r->{status}, 201, "$t short TTL: 201");
    Store::wait_for(sub {
        $st->value("SELECT count(*) FROM integrations_idempotency WHERE"
                   . " idem_key = 't1-$backend'") == 0 }, $VG ? 60 : 15);
    is($st->value("SELECT count(*) FROM integrations_idempotency WHERE"
                  . " idem_key = 't1-$backend'"), 0,
       "$t   the expired record is purged in the background");
    $r = post('/short/payments', body(order_id => "o-$backend-t"),
              'Idempotency-Key' => "t1-$backend");
    ok(!exists $r->{headers}{'idempotent-replayed'},
       "$t   and the key is new again");
    is(calls("t1-$backend"), 2, "$t   the provider is called again");
    ok($st->value("SELECT count(*) FROM integrations_idempotency WHERE"
                  . " idem_key = 'k1-$backend'") == 1,
       "$t   live records stay");

    # bad keys are refused before the store

    $r = post('/payments', $b1, 'Idempotency-Key' => 'has space');
    is($r->{status}, 400, "$t an invalid key: 400");

    # metrics

    ok(metric('integrations_payment_idempotent_replays_total') >= 5,
       "$t replays are counted");
    ok(metric('integrations_payment_idempotency_conflicts_total') >= 3,
       "$t conflicts are counted");
    like($gw->get('/metrics')->{body},
         qr/^integrations_store_operations_total\{op="idem_begin",outcome="ok"\} \d+$/m,
         "$t store operations are counted");

    # not final: the provider's timeout, after a reload to a short one

    $gw->reload(http => conf($st, $VG ? '3s' : '1s'));
    {
        my $key = "k6-$backend";
        my $b = body(order_id => "o-$backend-timeout");
        $stripe->set_mode('slow');
        $r = post('/payments', $b, 'Idempotency-Key' => $key);
        is($r->{status}, 504, "$t provider timeout: 504");
        $stripe->set_mode('healthy');
        $r = post('/payments', $b, 'Idempotency-Key' => $key);
        is($r->{status}, 201, "$t   the retry reaches the provider again");
        is(calls($key), 2, "$t   with the same provider key");
    }

    $gw->stop;
    unlike($gw->error_log, qr/integrations_store: .* is unavailable/,
           "$t the store was never unavailable");
    $gw->{checked} = 0;
});

done_testing;
