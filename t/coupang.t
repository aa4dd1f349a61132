# Coupang CEA signing through real nginx to a mock Coupang that recomputes
# every signature itself.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);

use Gateway;
use MockCoupang;
use MockServer;

my $SECRET = 'TEST_SECRET_KEY';
my $AK = 'a1b2c3d4-0000-4000-8000-e5f6a7b8c9d0';

my $gw = Gateway->new(error_log_level => 'debug');
$gw->write_file('coupang.key', "$SECRET\n");

my $cp = MockCoupang->new(port => $gw->port('coupang'), access_key => $AK,
                          secret => $SECRET);

# a first server that takes the request and never answers, to force a retry
my $hang = MockServer->new(port => $gw->port('hang'),
                           handler => sub { return { hang => 3 } });

# TLS in front of the mock, as api-gateway.coupang.com:443 would be
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
       . " -keyout " . $gw->dir . "/tls.key -out " . $gw->dir . "/tls.crt"
       . " 2>/dev/null") == 0 or die "openssl req failed";

$gw->start(wait_for => ['gw', 'tls', 'proxy'], http => <<'CONF');
    log_format signed '$request_uri $coupang_signed_date $coupang_signature';

    upstream coupang {
        server 127.0.0.1:%%PORT:coupang%%;
        keepalive 4;
    }

    upstream coupang_tls {
        server 127.0.0.1:%%PORT:tls%%;
        keepalive 4;
    }

    upstream coupang_retry {
        server 127.0.0.1:%%PORT:hang%%;
        server 127.0.0.1:%%PORT:coupang%%;
    }

    coupang_access_key       a1b2c3d4-0000-4000-8000-e5f6a7b8c9d0;
    coupang_secret_key_file  %%DIR%%/coupang.key;
    coupang_vendor_id        A00012345;

    proxy_http_version  1.1;
    proxy_set_header    Connection "";

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        access_log %%DIR%%/signed.log signed;

        location /coupang/ {
            coupang_sign  on;
            proxy_pass    http://coupang/;
        }

        location /v2/ {
            coupang_sign  on;
            proxy_pass    http://coupang;
        }

        location /rewritten/ {
            coupang_sign  on;
            rewrite       ^/rewritten/(.*)$ /v2/providers/$1 break;
            proxy_pass    http://coupang;
        }

        location /body/ {
            coupang_sign  on;
            proxy_pass    http://coupang/v2/;
        }

        location /tls/ {
            coupang_sign        on;
            proxy_pass          https://coupang_tls/;
            proxy_ssl_server_name on;
            proxy_ssl_name      localhost;
            proxy_ssl_verify    on;
            proxy_ssl_trusted_certificate %%DIR%%/tls.crt;
            proxy_ssl_session_reuse on;
        }

        location /retry/ {
            coupang_sign          on;
            proxy_pass            http://coupang_retry/;
            proxy_read_timeout    1500ms;
            proxy_next_upstream   error timeout;
        }

        location /unsigned/ {
            proxy_pass    http://coupang/;
        }
    }

    # the gateway as a plain HTTP proxy: absolute-form requests
    server {
        listen 127.0.0.1:%%PORT:proxy%%;
        server_name api-gateway.coupang.com;

        location / {
            coupang_sign  on;
            proxy_pass    http://coupang;
        }
    }

    server {
        listen 127.0.0.1:%%PORT:tls%% ssl;
        ssl_certificate     %%DIR%%/tls.crt;
        ssl_certificate_key %%DIR%%/tls.key;

        location / {
            proxy_pass http://127.0.0.1:%%PORT:coupang%%;
        }
    }
CONF

sub last_seen { ($cp->requests)[-1] }

my $orders = '/v2/providers/openapi/apis/api/v4/vendors/A00012345/ordersheets';
my $q = 'createdAtFrom=2024-01-01&createdAtTo=2024-01-02&maxPerPage=50'
      . '&status=ACCEPT';

# location prefix replaced by the proxy_pass URI

my $r = $gw->get("/coupang$orders?$q");
is($r->{status}, 200, 'prefix replaced: signed call accepted') or diag $r->{body};
is(last_seen()->{target}, "$orders?$q", 'prefix replaced: path and query on the wire');
is($r->{body}, '{"code":200,"message":"OK","data":[],"nextToken":""}',
   'Coupang\'s answer passed through');

# proxy_pass without a URI

$r = $gw->get("$orders?$q");
is($r->{status}, 200, 'proxy_pass without URI: accepted') or diag $r->{body};
is(last_seen()->{target}, "$orders?$q", 'request line passed as is');

# rewrite

$r = $gw->get('/rewritten/openapi/apis/api/v4/vendors/A00012345/ordersheets'
              . "?$q");
is($r->{status}, 200, 'after rewrite: accepted') or diag $r->{body};
is(last_seen()->{target}, "$orders?$q", 'after rewrite: rewritten path signed');

# percent-encoded query values are signed as sent

my $v5 = '/v2/providers/openapi/apis/api/v5/vendors/A00012345/ordersheets';
my $kst = 'createdAtFrom=2025-07-29T00:01%2B09:00'
        . '&createdAtTo=2025-07-29T23:59%2B09:00&searchType=timeFrame'
        . '&status=ACCEPT';
$r = $gw->get("$v5?$kst");
is($r->{status}, 200, '%2B09:00 query: accepted') or diag $r->{body};
is(last_seen()->{target}, "$v5?$kst", '%2B kept byte for byte');

$r = $gw->get("$v5?a=%2b%20+x&b=%7E~");
is($r->{status}, 200, 'mixed escapes: accepted') or diag $r->{body};
is(last_seen()->{target}, "$v5?a=%2b%20+x&b=%7E~",
   'lowercase escapes, + and ~ untouched');

# absolute-form requests through the gateway used as an HTTP proxy

$r = $gw->raw("GET http://api-gateway.coupang.com$orders?$q HTTP/1.1\r\n"
              . "Host: api-gateway.coupang.com\r\nConnection: close\r\n\r\n",
              port => $gw->port('proxy'));
is($r->{status}, 200, 'absolute-form: accepted') or diag $r->{body};
is(last_seen()->{target}, "$orders?$q", 'absolute-form: origin-form upstream');

# the client's Authorization never reaches Coupang

$r = $gw->get("$orders?$q", headers => {
    Authorization => 'CEA algorithm=HmacSHA256, access-key=evil, '
        . 'signed-date=240101T000000Z, signature=' . ('0' x 64),
    'X-Requested-By' => 'someone-else' });
is($r->{status}, 200, 'client Authorization replaced: accepted');
my @auth = grep { lc $_->[0] eq 'authorization' } @{ last_seen()->{headers} };
is(scalar @auth, 1, 'one Authorization header upstream');
like($auth[0][1], qr/access-key=\Q$AK\E,/, 'it is the gateway\'s');
my @by = grep { lc $_->[0] eq 'x-requested-by' } @{ last_seen()->{headers} };
is_deeply([map { $_->[1] } @by], ['A00012345'], 'X-Requested-By is the vendor');

# request bodies pass unchanged

my $body = join '', map { chr($_ % 256) } 0 .. 70000;
for my $method (qw(POST PUT)) {
    $r = $gw->request($method, '/body/providers/openapi/apis/api/v4/vendors/'
                      . 'A00012345/ordersheets/acknowledgement',
                      body => $body,
                      headers => { 'Content-Type' => 'application/json' });
    is($r->{status}, 200, "$method: accepted") or diag $r->{body};
    ok(last_seen()->{body} eq $body, "$method: body bytes unchanged");
    is(last_seen()->{method}, $method, "$method: method signed and sent");
}

# chunked client bodies are buffered, then sent with a length

$r = $gw->raw("POST /v2/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              . "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
is($r->{status}, 200, 'chunked body: accepted');
is(last_seen()->{body}, 'hello', 'chunked body: bytes unchanged');

# TLS upstream with SNI and verification, sessions reused

for my $i (1 .. 3) {
    $r = $gw->get("/tls$orders?$q&n=$i");
    is($r->{status}, 200, "TLS upstream call $i: accepted") or diag $r->{body};
}

# the signature moves with time

$gw->get("$orders?same=1");
my $first = last_seen()->{header}{authorization};
sleep 1.1;
$gw->get("$orders?same=1");
my $second = last_seen()->{header}{authorization};
my ($d1, $s1) = $first =~ /signed-date=(\S+), signature=(\S+)/;
my ($d2, $s2) = $second =~ /signed-date=(\S+), signature=(\S+)/;
isnt($d2, $d1, 'a later call has a later signed-date');
isnt($s2, $s1, 'and another signature');

# a retry to the next upstream server is signed afresh

$cp->clear;
$r = $gw->get("/retry$orders?$q");
is($r->{status}, 200, 'retry: second server accepted') or diag $r->{body};
my ($hung) = $hang->requests;
ok($hung, 'retry: first server got the request');
my ($dh) = ($hung->{header}{authorization} // '') =~ /signed-date=(\S+),/;
my ($dr) = (last_seen()->{header}{authorization} // '')
           =~ /signed-date=(\S+),/;
ok($dh && $dr && $dr gt $dh, "retry: fresh signed-date ($dh then $dr)");

# unsigned locations are left alone

$r = $gw->get("/unsigned$orders", headers => { Authorization => 'x' });
is($r->{status}, 401, 'unsigned location: Coupang refuses');
is(last_seen()->{header}{authorization}, 'x', 'unsigned: header untouched');

# variables for access logs

$gw->stop;

my @log = split /\n/, $gw->read_file('signed.log');
my ($line) = grep { m{^/v2/.*same=1 } } @log;
like($line, qr{ \d{6}T\d{6}Z [0-9a-f]{64}$},
     '$coupang_signed_date and $coupang_signature logged');
like((grep { m{^/unsigned/} } @log)[0], qr{ - -$},
     'variables empty where nothing was signed');

# the secret never reaches the error log, even at debug level

my $errors = $gw->error_log;
ok(length $errors > 10000, 'debug log written');
unlike($errors, qr/\Q$SECRET\E/, 'no secret in the debug log');

done_testing();
