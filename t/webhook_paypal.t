# PayPal webhooks verified offline, through real nginx: the certificate
# fetched over HTTPS from a local stand-in for api.sandbox.paypal.com
# (cert_url_host=, a test CA), checked, cached; deliveries signed here
# with the openssl CLI over id|time|webhook_id|crc32(body), independently
# of the module's code.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Compress::Zlib qw(crc32);
use IO::Socket::INET;
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);

use Gateway;
use MockServer;

my $WEBHOOK_ID = '1JE4291016473214C';
my $CERTS = 'https://api.sandbox.paypal.com/v1/notifications/certs';

my $gw = Gateway->new(workers => 1);
my $dir = $gw->dir;
# PayPal's certificate host: stock nginx, not under valgrind (it runs
# none of the module's code)
my $tls = Gateway->new(valgrind => 0);
my $tdir = $tls->dir;

sub run {
    my ($cmd) = @_;
    system("$cmd 2>>$dir/openssl.log") == 0 or die "failed: $cmd\n";
}

# a test CA; the TLS front's certificate and PayPal's signing ones from it

mkdir "$tdir/www";
mkdir "$tdir/www/certs";
mkdir "$dir/ca";
mkdir "$dir/ca/new";
$gw->write_file('ca/index.txt', '');
$gw->write_file('ca/serial', "1000\n");
$gw->write_file('ca/ca.cnf', <<"CNF");
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $dir/ca/index.txt
new_certs_dir = $dir/ca/new
serial = $dir/ca/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
CNF

sub ca {
    my ($name, $cn) = @_;
    run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$cn"
        . " -addext basicConstraints=critical,CA:TRUE"
        . " -addext keyUsage=critical,keyCertSign,cRLSign"
        . " -keyout $dir/$name.key -out $dir/$name.crt");
}

# a certificate issued by a CA, valid from..until (openssl ca dates)
sub leaf {
    my ($name, $cn, $issuer, $from, $until) = @_;
    run("openssl req -new -newkey rsa:2048 -nodes -subj /CN=$cn"
        . " -addext subjectAltName=DNS:$cn"
        . " -keyout $dir/$name.key -out $dir/$name.csr");
    run("openssl ca -batch -notext -config $dir/ca/ca.cnf"
        . " -cert $dir/$issuer.crt -keyfile $dir/$issuer.key"
        . " -startdate $from -enddate $until"
        . " -in $dir/$name.csr -out $dir/$name.crt");
}

my $from = strftime('%Y%m%d%H%M%SZ', gmtime(time - 86400));
my $until = strftime('%Y%m%d%H%M%SZ', gmtime(time + 7 * 86400));
my $NAME = 'messageverificationcerts.paypal.com';

ca('ca', 'Test-Root-CA');
ca('other', 'Some-Other-CA');
leaf('tls', 'localhost', 'ca', $from, $until);
leaf('good', $NAME, 'ca', $from, $until);
leaf('expired', $NAME, 'ca', '20200101000000Z', '20200201000000Z');
leaf('untrusted', $NAME, 'other', $from, $until);
leaf('wrongname', 'messageverificationcerts.example.com', 'ca', $from,
     $until);

sub slurp { my ($f) = @_; open my $fh, '<', $f or die "$f: $!"; local $/; <$fh> }
sub spit {
    my ($f, $data) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $data;
    close $fh;
}

spit("$tdir/tls.crt", slurp("$dir/tls.crt"));
spit("$tdir/tls.key", slurp("$dir/tls.key"));
spit("$tdir/www/certs/CERT-good", slurp("$dir/good.crt"));
spit("$tdir/www/certs/CERT-good-2", slurp("$dir/good.crt"));
spit("$tdir/www/certs/CERT-good-3", slurp("$dir/good.crt"));
spit("$tdir/www/certs/CERT-expired", slurp("$dir/expired.crt"));
spit("$tdir/www/certs/CERT-untrusted",
     slurp("$dir/untrusted.crt") . slurp("$dir/other.crt"));
spit("$tdir/www/certs/CERT-wrongname", slurp("$dir/wrongname.crt"));
chmod 0755, "$tdir/www", "$tdir/www/certs";
chmod 0644, glob("$tdir/www/certs/*");

$tls->start(http => <<'CONF');
    log_format certs '$uri $status';

    server {
        listen 127.0.0.1:%%PORT:gw%% ssl;
        ssl_certificate     %%DIR%%/tls.crt;
        ssl_certificate_key %%DIR%%/tls.key;
        access_log %%DIR%%/certs.log certs;

        location /v1/notifications/certs/ {
            alias %%DIR%%/www/certs/;
        }
    }
CONF

my $tls_port = $tls->port('gw');
my $dead_port = Gateway::free_port();

my $up = MockServer->new(port => $gw->port('up'), handler => sub {
    return (200, { 'Content-Type' => 'text/plain' }, "app ok\n");
});

$gw->write_file('trusted.crt', slurp("$dir/ca.crt"));

$gw->start(http => <<"CONF");
    integrations_outbound_trusted_certificate  %%DIR%%/trusted.crt;

    log_format webhook '\$uri \$status \$webhook_provider '
                       '"\$webhook_event_id" "\$webhook_status"';

    webhook_dedupe_zone zone=webhooks:1m ttl=1h;

    upstream app {
        server 127.0.0.1:%%PORT:up%%;
    }

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        access_log %%DIR%%/webhook.log webhook;

        client_body_buffer_size 1k;

        location /paypal {
            webhook_verify paypal webhook_id=$WEBHOOK_ID dedupe=webhooks
                           cert_url_host=localhost:$tls_port;
            proxy_pass http://app;
        }

        location /paypal-down {
            webhook_verify paypal webhook_id=$WEBHOOK_ID
                           cert_url_host=127.0.0.1:$dead_port;
            proxy_pass http://app;
        }

        location = /metrics {
            integrations_status;
        }
    }
CONF

# -- deliveries ---------------------------------------------------------

my $seq = 0;

sub now_iso { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time)) }

sub sign {
    my ($key, $msg) = @_;
    my $n = ++$seq;
    spit("$dir/msg.$n", $msg);
    run("openssl dgst -sha256 -sign $dir/$key.key -out $dir/sig.$n"
        . " $dir/msg.$n");
    return encode_base64(slurp("$dir/sig.$n"), '');
}

# a delivery: %o overrides (key, webhook_id, cert, body_sent, headers)
sub delivery {
    my (%o) = @_;
    my $id = $o{event} // 'WH-' . ++$seq;
    my $body = $o{body} // encode_json({ id => $id,
        event_type => 'PAYMENT.CAPTURE.COMPLETED',
        resource => { id => "CAP-$seq", amount => { value => '10.00' } } });
    my $tid = $o{tid} // "tid-$seq-" . int(rand(1e9));
    my $t = $o{time} // now_iso();
    my $msg = join '|', $tid, $t, $o{webhook_id} // $WEBHOOK_ID,
                        crc32($body);
    my %h = (
        'Content-Type' => 'application/json',
        'PAYPAL-TRANSMISSION-ID' => $tid,
        'PAYPAL-TRANSMISSION-TIME' => $t,
        'PAYPAL-TRANSMISSION-SIG' => sign($o{key} // 'good', $msg),
        'PAYPAL-CERT-URL' => $o{cert_url} // "$CERTS/" . ($o{cert} // 'CERT-good'),
        'PAYPAL-AUTH-ALGO' => 'SHA256withRSA',
        %{ $o{headers} // {} },
    );
    delete $h{$_} for @{ $o{drop} // [] };
    return { body => $body, id => $id, tid => $tid, t => $t, headers => \%h };
}

sub send_delivery {
    my ($d, %o) = @_;
    return $gw->request('POST', $o{uri} // '/paypal',
                        body => $o{body} // $d->{body},
                        headers => $d->{headers});
}

sub problem_type {
    my ($r) = @_;
    my $j = eval { decode_json($r->{body}) } // {};
    return $j->{type} // '';
}

sub fetches {
    my ($name) = @_;
    my @lines = grep { m{/certs/\Q$name\E } } split /\n/,
                $tls->read_file('certs.log');
    return scalar @lines;
}

# a valid delivery passes, the very same bytes at the upstream
my $d1 = delivery();
my $r = send_delivery($d1);
is($r->{status}, 200, 'valid delivery passes');
my @seen = $up->requests;
is(scalar @seen, 1, 'the upstream got it');
is($seen[-1]{body}, $d1->{body}, 'the same body at the upstream');

# more deliveries: the certificate is fetched once
for (1 .. 3) {
    is(send_delivery(delivery())->{status}, 200, "valid delivery $_ passes");
}
is(fetches('CERT-good'), 1, 'the certificate was fetched once for 4 deliveries');

# a body spooled to a temporary file (client_body_buffer_size 1k)
my $big = delivery(body => encode_json({ id => 'WH-BIG', pad => 'x' x 5000 }));
$r = send_delivery($big);
is($r->{status}, 200, 'a body from a temporary file verifies');
is(($up->requests)[-1]{body}, $big->{body}, 'and arrives unchanged');

# replay: the same delivery again is answered by the dedupe zone
$r = send_delivery($d1);
is($r->{status}, 200, 'replay answered 200');
like($r->{body}, qr/"replayed"/, 'replay: the replayed body');
is(scalar(() = $up->requests), 5, 'replay: the upstream did not see it');

# the same event in a new transmission (PayPal's retry) is a copy too
my $retry = delivery(event => $d1->{id});
$r = send_delivery($retry);
like($r->{body}, qr/"replayed"/, 'the same event id in a new transmission');

# an event id that is there but unusable is refused, never cut short into
# another event's id (which would be answered "replayed", and lost)
sub detail { my ($r) = @_; (eval { decode_json($r->{body}) } // {})->{detail} // '' }

$r = send_delivery(delivery(body => '{"id":"' . $d1->{id}
    . '\u0000x","event_type":"PAYMENT.CAPTURE.COMPLETED"}'));
is($r->{status}, 400, 'an event id with an embedded NUL: 400');
is(problem_type($r), 'urn:integrations:problem:webhook_malformed_body',
   'an event id with an embedded NUL: malformed_body');
like(detail($r), qr/^malformed_body \(id\)/, '... naming the field');
unlike($r->{body}, qr/"replayed"/, '... not taken for the delivered event');

$r = send_delivery(delivery(body => '{"event_type":"X"}',
                            tid => 'tid with a space'));
is($r->{status}, 400, 'no body id, an unusable PAYPAL-TRANSMISSION-ID: 400');
like(detail($r), qr/^malformed_header \(PAYPAL-TRANSMISSION-ID\)/,
     '... naming the header');
is(scalar(() = $up->requests), 5, 'neither reached the upstream');

# forged, altered, wrong webhook id
my $forged = delivery(key => 'untrusted');
$r = send_delivery($forged);
is($r->{status}, 401, 'forged signature refused');
is(problem_type($r), 'urn:integrations:problem:webhook_bad_signature',
   'forged: bad_signature');
is($r->{headers}{'content-type'}, 'application/problem+json',
   'forged: problem+json');
unlike($gw->error_log, qr/\Q$forged->{headers}{'PAYPAL-TRANSMISSION-SIG'}\E/,
       'the signature is not logged');

$r = send_delivery(delivery(webhook_id => 'WH-SOMEONE-ELSE'));
is($r->{status}, 401, 'signed for another webhook id: refused');

my $alt = delivery();
$r = send_delivery($alt, body => $alt->{body} . ' ');
is($r->{status}, 401, 'altered body refused');

# the time is checked
$r = send_delivery(delivery(time => '2020-01-01T00:00:00Z'));
is($r->{status}, 401, 'an old transmission refused');
is(problem_type($r),
   'urn:integrations:problem:webhook_timestamp_out_of_tolerance',
   'old: timestamp_out_of_tolerance');

# headers
$r = send_delivery(delivery(drop => ['PAYPAL-TRANSMISSION-SIG']));
is($r->{status}, 401, 'no signature: refused');
like($r->{body}, qr/PAYPAL-TRANSMISSION-SIG/, 'no signature: named');

$r = send_delivery(delivery(headers => { 'PAYPAL-AUTH-ALGO' => 'SHA1withRSA' }));
is($r->{status}, 401, 'another algorithm: refused');

# the pin
for my $url ('https://evil.example.com/v1/notifications/certs/CERT-good',
             'https://api.paypal.com.evil.example/certs/CERT-good',
             'https://evilpaypal.com/certs/CERT-good',
             'http://api.sandbox.paypal.com/v1/notifications/certs/CERT-good',
             'https://user@api.paypal.com/v1/notifications/certs/CERT-good',
             'https://api.paypal.com:8443/v1/notifications/certs/CERT-good',
             'https://127.0.0.1/v1/notifications/certs/CERT-good')
{
    $r = send_delivery(delivery(cert_url => $url));
    is($r->{status}, 401, "cert URL refused: $url");
}
like($r->{body}, qr/PAYPAL-CERT-URL/, 'the pin: the header named');
is(fetches('CERT-good'), 1, 'no fetch for a refused URL');

# certificates that do not check
for my $c (['CERT-expired', 'expired'], ['CERT-untrusted', 'untrusted chain'],
           ['CERT-wrongname', 'not a paypal.com name'])
{
    my $key = $c->[0] =~ s/CERT-//r;
    $r = send_delivery(delivery(cert => $c->[0], key => $key));
    is($r->{status}, 401, "certificate refused: $c->[1]");
    is(problem_type($r), 'urn:integrations:problem:webhook_bad_certificate',
       "$c->[1]: bad_certificate");
}
like($gw->error_log, qr/paypal certificate ".*CERT-expired" refused: .*expired/,
     'the expiry logged');
$r = send_delivery(delivery(cert => 'CERT-expired', key => 'expired'));
is($r->{status}, 401, 'expired again: refused');
is(fetches('CERT-expired'), 1, 'a refused certificate is remembered');

# the certificate cannot be fetched: 502, not the sender's fault
$r = send_delivery(delivery(cert => 'CERT-missing'));
is($r->{status}, 502, 'a 404 certificate: 502');
is(problem_type($r),
   'urn:integrations:problem:webhook_certificate_unavailable',
   '404: certificate_unavailable');
ok($r->{headers}{'retry-after'}, '404: Retry-After');

$r = send_delivery(delivery(cert => 'CERT-down'), uri => '/paypal-down');
is($r->{status}, 502, 'the certificate host is down: 502');
ok($r->{headers}{'retry-after'}, 'down: Retry-After');
$r = send_delivery(delivery(cert => 'CERT-down'), uri => '/paypal-down');
is($r->{status}, 502, 'down again: fetched again, 502');

# concurrent deliveries needing one new certificate share one fetch
my @socks;
for (1 .. 4) {
    my $d = delivery(cert => 'CERT-good-2');
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'),
                                  Timeout => 10) or die "connect: $!";
    my $req = "POST /paypal HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n"
            . join('', map { "$_: $d->{headers}{$_}\r\n" }
                       sort keys %{ $d->{headers} })
            . "Content-Length: " . length($d->{body}) . "\r\n\r\n"
            . $d->{body};
    print $s $req;
    push @socks, $s;
}
my $ok = 0;
for my $s (@socks) {
    local $/;
    my $resp = Gateway::parse_response(<$s> // '');
    $ok++ if $resp->{status} == 200;
    close $s;
}
is($ok, 4, 'concurrent deliveries all pass');
is(fetches('CERT-good-2'), 1, 'concurrent deliveries: one fetch');

# a client gone while its certificate is fetched: no harm
{
    my $d = delivery(cert => 'CERT-good-3');
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
        or die "connect: $!";
    print $s "POST /paypal HTTP/1.1\r\nHost: localhost\r\n"
        . join('', map { "$_: $d->{headers}{$_}\r\n" }
                   sort keys %{ $d->{headers} })
        . "Content-Length: " . length($d->{body}) . "\r\n\r\n" . $d->{body};
    close $s;
    sleep($ENV{VALGRIND} ? 2 : 0.5);
    is(send_delivery(delivery(cert => 'CERT-good-3'))->{status}, 200,
       'after a client left mid-fetch, the next one passes');
}

# variables
my $log = $gw->read_file('webhook.log');
like($log, qr{^/paypal 200 paypal "\Q$d1->{id}\E" "verified"$}m,
     '$webhook_* variables');
like($log, qr{^/paypal 200 paypal "\Q$d1->{id}\E" "replayed"$}m,
     'replayed in the log');
like($log, qr{^/paypal 401 paypal "-" "invalid"$}m, 'invalid in the log');

# warn per failure
like($gw->error_log, qr/\[warn\].*webhook_verify: paypal delivery refused: bad_signature/,
     'a refusal is logged as a warning');

# counters
my $m = $gw->get('/metrics')->{body};
like($m, qr/^integrations_webhook_verified_total\{provider="paypal"\} (\d+)$/m,
     'verified counter');
my ($verified) = $m =~ /^integrations_webhook_verified_total\{provider="paypal"\} (\d+)$/m;
is($verified, 13, 'verified: 13 deliveries (replays too)');
like($m, qr/^integrations_webhook_replayed_total\{provider="paypal"\} 2$/m,
     'replayed counter');
like($m, qr/^integrations_webhook_failed_total\{provider="paypal",reason="malformed_body"\} 1$/m,
     'malformed_body counter: the unusable event id');
like($m, qr/^integrations_webhook_failed_total\{provider="paypal",reason="bad_signature"\} 3$/m,
     'bad_signature counter');
like($m, qr/^integrations_webhook_failed_total\{provider="paypal",reason="bad_certificate"\} 4$/m,
     'bad_certificate counter');
like($m, qr/^integrations_webhook_failed_total\{provider="paypal",reason="certificate_unavailable"\} 3$/m,
     'certificate_unavailable counter');

$gw->stop;
$tls->stop;
$up->stop;

# -- configuration ------------------------------------------------------

my $cf = Gateway->new;

sub conf {
    my ($location) = @_;
    return <<"CONF";
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /hook { $location proxy_pass http://127.0.0.1:1; }
    }
CONF
}

my @bad = (
    [ 'webhook_verify paypal;', qr{"webhook_verify" paypal requires "webhook_id="},
      'no webhook_id' ],
    [ 'webhook_verify paypal webhook_id=;', qr{invalid parameter "webhook_id="},
      'empty webhook_id' ],
    [ 'webhook_verify paypal webhook_id=A|B;', qr{invalid parameter "webhook_id=A\|B"},
      'a "|" in webhook_id' ],
    [ 'webhook_verify paypal webhook_id=X secret_file=/k;',
      qr{invalid parameter "secret_file=/k"}, 'secret_file= for paypal' ],
    [ 'webhook_verify paypal webhook_id=X tolerance=soon;',
      qr{invalid parameter "tolerance=soon"}, 'bad tolerance' ],
    [ 'webhook_verify paypal webhook_id=X cert_url_host=a/b;',
      qr{invalid parameter "cert_url_host=a/b"}, 'a path in cert_url_host' ],
    [ 'webhook_verify paypal webhook_id=X cert_url_host=;',
      qr{invalid parameter "cert_url_host="}, 'empty cert_url_host' ],
    [ 'webhook_verify paypal webhook_id=X dedupe=nowhere;',
      qr{nowhere}, 'an unknown dedupe zone' ],
    [ 'webhook_verify paypal webhook_id=X; webhook_verify paypal webhook_id=Y;',
      qr{"webhook_verify" directive is duplicate}, 'duplicate' ],
);

for my $b (@bad) {
    my ($passed, $out) = $cf->test_config(http => conf($b->[0]));
    ok(!$passed, "nginx -t fails: $b->[2]");
    like($out, $b->[1], "message: $b->[2]");
}

my ($passed, $out) = $cf->test_config(http => conf(
    'webhook_verify paypal webhook_id=1JE4291016473214C tolerance=10m;'));
ok($passed, 'a good paypal directive passes nginx -t') or diag($out);

done_testing;
