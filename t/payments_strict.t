# The payments API reads its input strictly, through real nginx: a string
# with a NUL (or a control character where it has no place) is refused
# naming the field, never cut at the NUL; a JSON key given twice and an
# Idempotency-Key header given twice are refused rather than resolved; a
# provider answer with a NUL or a key twice is a bad answer (502), never
# read as something shorter; a chunked body over the 64 KB limit gets the
# module's problem+json 413 as soon as it passes the limit, before the
# client has finished sending it.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use IO::Select;
use MIME::Base64;
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;
use MockServer;

$SIG{PIPE} = 'IGNORE';

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $T = $VG ? 60 : 10;

my $gw = Gateway->new;
my $mock = MockProviders->new(gw => $gw);
$mock->write_keys($gw);

# Toss, answering what a test asks for: the healthy answer, or one with a
# NUL, a control character or a key twice in it

my $TOSS_KEY = $MockProviders::SECRET{toss};
my $toss = MockServer->new(port => $gw->port('badtoss'), handler => sub {
    my ($req, $mode) = @_;
    my $err = sub { (400, { 'Content-Type' => 'application/json' },
                     encode_json({ code => 'MOCK_WIRE_FORMAT',
                                   message => $_[0] })) };
    return $err->('Authorization') unless ($req->{header}{authorization} // '')
        eq 'Basic ' . encode_base64("$TOSS_KEY:", '');
    return $err->('path') unless $req->{target} eq '/v1/payments/confirm';
    my $in = eval { decode_json($req->{body}) } // return $err->('body');
    my $key = $in->{paymentKey} // return $err->('paymentKey');
    my $amount = $in->{amount} // return $err->('amount');

    my $id = {
        healthy => qq("$key"),
        nul_id  => qq("${key}\\u0000evil"),
        ctl_id  => qq("${key}\\u0001"),
    }->{$mode} // qq("$key");
    my $status = $mode eq 'dup_status' ? '"status":"ABORTED","status":"DONE"'
                                       : '"status":"DONE"';
    my $body = qq({"paymentKey":$id,"orderId":"$in->{orderId}",$status,)
             . qq("totalAmount":$amount,"currency":"KRW",)
             . qq("requestedAt":"2024-02-13T12:17:57+09:00",)
             . qq("approvedAt":"2024-02-13T12:18:14+09:00"});
    return (200, { 'Content-Type' => 'application/json' }, $body);
});

$gw->start(http => <<'CONF');
    payment_provider stripe   key_file=%%DIR%%/stripe.key
                              base_url=http://127.0.0.1:%%PORT:stripe%%;
    payment_provider toss     key_file=%%DIR%%/toss.key
                              base_url=http://127.0.0.1:%%PORT:badtoss%%;

    server {
        listen 127.0.0.1:%%PORT:gw%%;

        location /payments { payment_api; }

        location /small/payments {
            client_max_body_size 1k;
            payment_api;
        }

        location /tiny/payments {
            client_body_buffer_size 1k;
            payment_api;
        }
    }
CONF

my $J = JSON::PP->new->canonical;

sub answer {
    my ($r) = @_;
    $r->{json} = eval { decode_json($r->{body}) };
    return $r;
}

sub post {
    my ($uri, $body, %h) = @_;
    return answer($gw->request('POST', $uri,
        body => ref $body ? $J->encode($body) : $body,
        headers => { 'Content-Type' => 'application/json', %h },
        timeout => $T));
}

sub stripe_calls { my @r = $mock->{stripe}->requests; scalar @r }

my %order = (amount => 1050, currency => 'USD', customer_id => 'cus_7',
             description => 'an order', provider => 'stripe',
             source => 'pm_card_visa');

# the order body with one field's JSON text replaced: JSON::PP would
# write a NUL as \u0000 too, but these are spelled out as a client sends
sub body_with {
    my (%raw) = @_;
    my %o = (%order, order_id => 'ord-1');
    return '{' . join(',', map {
        my $v = exists $raw{$_} ? $raw{$_} : $J->encode($o{$_});
        qq("$_":$v)
    } sort keys %o, grep { !exists $o{$_} } sort keys %raw) . '}';
}

sub invalid {
    my ($r, $field, $name, $why) = @_;
    is($r->{status}, 400, "$name: 400") or diag $r->{body};
    like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
         "$name: problem+json");
    like($r->{json}{detail} // '', qr/^"\Q$field\E" /,
         "$name: the detail names $field") or diag $r->{body};
    like($r->{json}{detail} // '', $why, "$name: and says why") if $why;
}

# a NUL in a string: refused, never cut at the NUL

$mock->{stripe}->clear;

my $r = post('/payments', body_with(order_id => '"o\u0000x"'));
invalid($r, 'order_id', 'a NUL in order_id', qr/NUL/);

for my $f (qw(customer_id description source provider)) {
    my $v = $f eq 'provider' ? '"stripe\u0000"' : '"a\u0000b"';
    $r = post('/payments', body_with($f => $v));
    invalid($r, $f, "a NUL in $f");
}

$r = post('/payments', body_with(metadata => '{"note":"x\u0000y"}'));
invalid($r, 'metadata.note', 'a NUL in a metadata value');

$r = post('/payments', body_with(metadata => '{"no\u0000te":"x"}'));
invalid($r, 'metadata', 'a NUL in a metadata key');

$r = post('/payments', body_with(extra => '{"deep":["ok","\u0000"]}'));
invalid($r, 'extra.deep[1]', 'a NUL in a field the API does not read');

# control characters: none in ids and keys; text keeps its line breaks

$r = post('/payments', body_with(customer_id => '"cus\u0001"'));
invalid($r, 'customer_id', 'a control character in customer_id',
        qr/control/);
$r = post('/payments', body_with(source => '"pm\u007f"'));
invalid($r, 'source', 'DEL in source');
$r = post('/payments', body_with(metadata => '{"k\u001b":"v"}'));
invalid($r, 'metadata', 'a control character in a metadata key');
$r = post('/payments', body_with(description => '"a\u0007b"'));
invalid($r, 'description', 'BEL in description');
$r = post('/payments', body_with(metadata => '{"k":"v\u0000"}'));
invalid($r, 'metadata.k', 'NUL at the end of a metadata value');

is(stripe_calls(), 0, 'none of them reached Stripe');

$r = post('/payments', body_with(order_id => '"ord-text"',
                                 description => '"line 1\nline 2\ttab\r"',
                                 metadata => '{"note":"a\nb"}'));
is($r->{status}, 201, 'line breaks and tabs in text are kept')
    or diag $r->{body};
my ($seen) = $mock->{stripe}->requests;
like($seen->{body} // '', qr/description=line%201%0Aline%202%09tab%0D/,
     'and reach Stripe whole');

# the same key twice in a body: refused, whatever the nesting

$mock->{stripe}->clear;

$r = post('/payments', body_with(order_id => '"ord-dup"')
                       =~ s/^\{/{"amount":1,/r);
invalid($r, 'amount', 'amount twice', qr/more than once/);

$r = post('/payments', body_with(order_id => '"ord-dup"',
                                 metadata => '{"sku":"a","x":"1","sku":"b"}'));
invalid($r, 'metadata.sku', 'a metadata key twice');

$r = post('/payments', body_with(order_id => '"ord-dup"',
                                 extra => '[{"a":1},{"b":1,"b":2}]'));
invalid($r, 'extra[1].b', 'a key twice in an object in an array');

$r = post('/payments/stripe/pi_x/refund',
          '{"reason":"dup","amount":100,"amount":1000}');
invalid($r, 'amount', 'a refund amount twice');

is(stripe_calls(), 0, 'none of them reached Stripe');

# Idempotency-Key twice: refused like a signature header twice

sub raw_post {
    my ($uri, $body, @headers) = @_;
    return answer($gw->raw("POST $uri HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . join('', map { "$_\r\n" } @headers)
        . "Content-Length: " . length($body) . "\r\n\r\n$body",
        timeout => $T));
}

$r = raw_post('/payments', body_with(order_id => '"ord-key"'),
              'Idempotency-Key: key-a', 'Idempotency-Key: key-b');
invalid($r, 'Idempotency-Key', 'two Idempotency-Key headers',
        qr/more than once/);
$r = raw_post('/payments', body_with(order_id => '"ord-key"'),
              'Idempotency-Key: key-a', 'idempotency-key: key-a');
invalid($r, 'Idempotency-Key', 'the same key twice, in another case');
$r = raw_post('/payments/stripe/pi_x/refund', '{"reason":"r"}',
              'Idempotency-Key: key-a', 'Idempotency-Key: key-b');
invalid($r, 'Idempotency-Key', 'two keys on a refund');
is(stripe_calls(), 0, 'none of them reached Stripe');

$r = raw_post('/payments', body_with(order_id => '"ord-key"'),
              'Idempotency-Key: key-a');
is($r->{status}, 201, 'one Idempotency-Key is used') or diag $r->{body};
is((($mock->{stripe}->requests)[0] // {})->{header}{'idempotency-key'},
   'key-a', 'as given');

# provider answers: a NUL, a control character or a key twice is a bad
# answer, not a shorter id or the last of two statuses

my %toss = (amount => 15000, currency => 'KRW', customer_id => 'c',
            description => 'd', provider => 'toss');

$toss->set_mode('healthy');
$r = post('/payments', { %toss, order_id => 'toss-ok',
                         payment_key => 'tgen_ok' });
is($r->{status}, 201, 'toss: a healthy answer') or diag $r->{body};
is($r->{json}{payment_id}, 'tgen_ok', 'toss: its paymentKey');

for my $case ([ nul_id => 'a NUL in the paymentKey' ],
              [ ctl_id => 'a control character in the paymentKey' ],
              [ dup_status => 'status twice' ])
{
    my ($mode, $name) = @$case;
    $toss->set_mode($mode);
    $r = post('/payments', { %toss, order_id => "toss-$mode",
                             payment_key => "tgen_$mode" });
    is($r->{status}, 502, "toss: $name: 502") or diag $r->{body};
    is($r->{json}{type}, 'urn:integrations:problem:provider_bad_response',
       "toss: $name: provider_bad_response");
    like($r->{json}{detail} // '', qr/^toss answered 200/,
         "toss: $name: the detail says who answered what");
    ok($r->{headers}{'retry-after'}, "toss: $name: Retry-After");
    unlike($r->{body}, qr/evil/, "toss: $name: nothing of the id is shown");
}
$toss->set_mode('healthy');

# chunked bodies: read as they come, refused at the limit

sub chunked {
    my ($uri, @chunks) = @_;
    return answer($gw->raw("POST $uri HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n"
        . join('', map { sprintf("%x\r\n%s\r\n", length, $_) } @chunks)
        . "0\r\n\r\n", timeout => $T));
}

sub too_large {
    my ($r, $name) = @_;
    is($r->{status}, 413, "$name: 413") or diag $r->{body};
    like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
         "$name: problem+json");
    is($r->{json}{type}, 'urn:integrations:problem:body_too_large',
       "$name: body_too_large");
}

$mock->{stripe}->clear;
my $small = body_with(order_id => '"ord-chunked"');
$r = chunked('/payments', unpack('(a7)*', $small));
is($r->{status}, 201, 'a chunked body in 7-byte chunks') or diag $r->{body};
is($r->{json}{order_id}, 'ord-chunked', 'read whole');

my $big = body_with(order_id => '"ord-big"',
                    description => $J->encode('x' x (100 * 1024)));
too_large(post('/payments', $big), 'with Content-Length over 64 KB');
too_large(chunked('/payments', unpack('(a8192)*', $big)),
          'chunked over 64 KB');
too_large(chunked('/small/payments', unpack('(a512)*', $small . (' ' x 1024))),
          'chunked over client_max_body_size 1k');

# bodies near the limit, in pieces with pauses between them: read whole
# across several reads and reused buffers, with a length and chunked

sub in_pieces {
    my ($head, @pieces) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port,
                                  Timeout => $T) or die "connect: $!";
    binmode $s;
    syswrite($s, $head);
    for (@pieces) {
        sleep($VG ? 0.2 : 0.05);
        syswrite($s, $_);
    }
    my ($resp, $sel) = ('', IO::Select->new($s));
    while ($sel->can_read($T)) {
        last unless sysread($s, $resp, 65536, length $resp);
    }
    close $s;
    return answer(Gateway::parse_response($resp));
}

my $near = body_with(order_id => '"ord-near"',
                     padding => $J->encode('p' x (60 * 1024)));
my $head = "POST /payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
         . "Content-Type: application/json\r\n";

$r = post('/payments', $near);
is($r->{status}, 201, '60 KB with a length, at once: buffers reused')
    or diag $r->{body};

$r = chunked('/payments', unpack('(a4096)*', $near));
is($r->{status}, 201, '60 KB chunked, at once') or diag $r->{body};

# a 1k buffer fills at every read: the reader waits for it to be taken
$r = post('/tiny/payments', $near);
is($r->{status}, 201, '60 KB through a 1k client_body_buffer_size')
    or diag $r->{body};
$r = chunked('/tiny/payments', unpack('(a3000)*', $near));
is($r->{status}, 201, '  and chunked') or diag $r->{body};

$r = in_pieces($head . 'Content-Length: ' . length($near) . "\r\n\r\n",
               unpack('(a20000)*', $near));
is($r->{status}, 201, '60 KB with a length, in pieces') or diag $r->{body};
is($r->{json}{order_id}, 'ord-near', '  read whole');

$r = in_pieces($head . "Transfer-Encoding: chunked\r\n\r\n",
               (map { sprintf("%x\r\n%s\r\n", length, $_) }
                    unpack('(a9000)*', $near)),
               "0\r\n\r\n");
is($r->{status}, 201, '60 KB chunked, in pieces') or diag $r->{body};
is($r->{json}{order_id}, 'ord-near', '  read whole');

$r = in_pieces($head . 'Content-Length: ' . length($small) . "\r\n\r\n",
               unpack('(a1)*', substr($small, 0, 3)), substr($small, 3));
is($r->{status}, 201, 'a body a byte at a time, then the rest')
    or diag $r->{body};

$r = answer($gw->raw("POST /payments HTTP/1.1\r\nHost: x\r\n"
    . "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    . "zz\r\n{}\r\n0\r\n\r\n", timeout => $T));
is($r->{status}, 400, 'a malformed chunked body: 400');
like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
     'a malformed chunked body: problem+json');

# on a keep-alive connection the unread rest is not taken for a request

for my $case ([ "zz\r\n{}\r\n0\r\n\r\n", 400, 'malformed' ],
              [ "20000\r\n" . ('x' x 70000), 413, 'too large' ])
{
    $r = answer($gw->raw("POST /payments HTTP/1.1\r\nHost: x\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n$case->[0]", timeout => $T));
    is($r->{status}, $case->[1], "keep-alive, $case->[2] chunked body");
    is(lc($r->{headers}{connection} // ''), 'close', '  the connection closed');
}

is(stripe_calls(), 8, 'only the bodies under the limit reached Stripe');

# several MB, sent slowly: the answer comes as soon as the limit is
# passed, long before the body is all sent (nginx alone would read up to
# client_max_body_size, 1 MB by default, before answering)

{
    my $total = 4 * 1024 * 1024;
    my $chunk = 'x' x 8192;
    my $pause = $VG ? 0.02 : 0.005;         # 1 MB in 0.6 s at least

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port,
                                  Timeout => $T) or die "connect: $!";
    binmode $s;
    print $s "POST /payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n"
        . sprintf("%x\r\n%s\r\n", 16, '{"description":"');
    $s->flush;

    my $sel = IO::Select->new($s);
    my ($sent, $answered) = (16, undef);
    my $t0 = time;

    while ($sent < $total) {
        last unless syswrite($s, sprintf("%x\r\n%s\r\n", length $chunk,
                                         $chunk));
        $sent += length $chunk;
        if ($sel->can_read($pause)) {
            $answered = $sent;
            last;
        }
    }

    my $resp = '';
    while ($sel->can_read($T)) {
        my $n = sysread($s, $resp, 65536, length $resp);
        last unless $n;
    }
    close $s;

    ok(defined $answered, 'answered while the body was still being sent')
        or diag "sent all $sent bytes in " . (time - $t0) . " s";
    ok(($answered // $total) < 1024 * 1024,
       'before 1 MB of it was sent (' . ($answered // 'all') . ' bytes)');
    too_large(answer(Gateway::parse_response($resp)),
              'a slow 4 MB chunked body');
}

# the gateway still serves after all that

$r = post('/payments', body_with(order_id => '"ord-after"'));
is($r->{status}, 201, 'served after the refusals') or diag $r->{body};

$gw->stop;
$toss->stop;

unlike($gw->error_log, qr/evil/, 'no provider id in the error log');

done_testing();
