# coupang_sign signs only for destinations the configuration fixed: a
# proxy_pass host from variables is signed only when coupang_sign_hosts
# allows it, and never for another upstream the configuration happens to
# know.  A second upstream records whether a CEA Authorization ever
# reached it.

use strict;
use warnings;

use Test::More;
use JSON::PP;

use Gateway;
use MockCoupang;
use MockServer;

my $AK = 'a1b2c3d4-0000-4000-8000-e5f6a7b8c9d0';

my $gw = Gateway->new;
$gw->write_file('coupang.key', "TEST_SECRET_KEY\n");

my $cp = MockCoupang->new(port => $gw->port('coupang'), access_key => $AK,
                          secret => 'TEST_SECRET_KEY');

# an internal application the gateway also proxies to, unsigned
my $internal = MockServer->new(port => $gw->port('internal'),
                               handler => sub { (200, {}, "internal\n") });

# a server no upstream names: only an address from the client reaches it
my $stray = MockServer->new(port => $gw->port('stray'),
                            handler => sub { (200, {}, "stray\n") });

$gw->start(wait_for => ['gw', 'proxy'], http => <<'CONF');
    upstream coupang {
        server 127.0.0.1:%%PORT:coupang%%;
    }

    upstream internal_app {
        server 127.0.0.1:%%PORT:internal%%;
    }

    upstream intranet {
        server 127.0.0.1:%%PORT:internal%%;
    }

    coupang_access_key       a1b2c3d4-0000-4000-8000-e5f6a7b8c9d0;
    coupang_secret_key_file  %%DIR%%/coupang.key;

    server {
        listen 127.0.0.1:%%PORT:gw%%;

        # the host comes from the client; two hosts are allowed
        location /hv/ {
            coupang_sign        on;
            coupang_sign_hosts  coupang localhost;
            proxy_pass          http://$http_x_up;
        }

        # the host from a variable set before a "rewrite ... break"
        location /rw/ {
            coupang_sign        on;
            coupang_sign_hosts  coupang;
            set                 $up $arg_up;
            rewrite             ^/rw/(.*)$ /$1 break;
            proxy_pass          http://$up;
        }

        # literal proxy_pass: implicit upstreams "127.0.0.1:PORT" and
        # "localhost" (port 443) that a client could name
        location /internal/ {
            proxy_pass  http://127.0.0.1:%%PORT:internal%%;
        }

        location /never/ {
            proxy_pass  https://localhost;
        }

        location /fixed/ {
            coupang_sign  on;
            proxy_pass    http://coupang/;
        }
    }

    # the gateway as an HTTP proxy: the host of an absolute-form request
    server {
        listen 127.0.0.1:%%PORT:proxy%%;

        location / {
            coupang_sign        on;
            coupang_sign_hosts  coupang;
            proxy_pass          http://$host;
        }
    }
CONF

my $ip = '127.0.0.1';

sub refused {
    my ($r, $name) = @_;
    is($r->{status}, 502, "$name: 502");
    is($r->{headers}{'content-type'}, 'application/problem+json',
       "$name: problem+json");
    my $p = eval { decode_json($r->{body}) } // {};
    is($p->{type}, 'urn:integrations:problem:coupang_destination_not_allowed',
       "$name: problem type") or diag $r->{body};
}

sub signed_ok {
    my ($r, $name, $target) = @_;
    is($r->{status}, 200, "$name: Coupang accepted the signature")
        or diag $r->{body};
    is(($cp->requests)[-1]{target}, $target, "$name: target on the wire");
}

my $refusals = 0;

# the issue's attack: the client names an upstream the gateway knows

refused($gw->get('/hv/v2/x?y=1', headers => { 'X-Up' => 'internal_app' }),
        'X-Up: an unrelated upstream block');
$refusals++;

refused($gw->get('/hv/v2/x?y=1',
                 headers => { 'X-Up' => "$ip:" . $gw->port('internal') }),
        'X-Up: the implicit upstream of a literal proxy_pass elsewhere');
$refusals++;

refused($gw->get('/hv/v2/x?y=1',
                 headers => { 'X-Up' => "$ip:" . $gw->port('stray') }),
        'X-Up: an address no upstream names');
$refusals++;

# allowed hosts: exact, case-insensitive, port-aware

signed_ok($gw->get('/hv/v2/x?y=1', headers => { 'X-Up' => 'coupang' }),
          'X-Up: coupang, allowed', '/hv/v2/x?y=1');
signed_ok($gw->get('/hv/v2/x?y=2', headers => { 'X-Up' => 'CouPang' }),
          'X-Up: CouPang, case-insensitive', '/hv/v2/x?y=2');

refused($gw->get('/hv/v2/x', headers => { 'X-Up' => 'coupang:80' }),
        'X-Up: coupang:80, a port the entry does not write');
$refusals++;

refused($gw->get('/hv/v2/x', headers => { 'X-Up' => 'coupang.evil' }),
        'X-Up: a longer host');
$refusals++;

# allowed, but http://localhost is not the https://localhost upstream:
# nginx would create a peer on the fly, which is never signed
refused($gw->get('/hv/v2/x', headers => { 'X-Up' => 'localhost' }),
        'X-Up: allowed host that names no upstream on this port');
$refusals++;

# rewrite ... break with the host in a variable

refused($gw->get('/rw/v2/x?up=internal_app'), 'rewrite: internal_app');
$refusals++;
signed_ok($gw->get('/rw/v2/x?up=coupang'), 'rewrite: coupang',
          '/v2/x?up=coupang');

# absolute-form requests: $host is the client's

refused($gw->raw("GET http://intranet/v2/x HTTP/1.1\r\n"
                 . "Host: coupang\r\nConnection: close\r\n\r\n",
                 port => $gw->port('proxy')),
        'absolute-form: intranet');
$refusals++;
signed_ok($gw->raw("GET http://coupang/v2/x?a=1 HTTP/1.1\r\n"
                   . "Host: intranet\r\nConnection: close\r\n\r\n",
                   port => $gw->port('proxy')),
          'absolute-form: coupang', '/v2/x?a=1');

# a fixed destination is signed as before

signed_ok($gw->get('/fixed/v2/x'), 'fixed upstream', '/v2/x');

# the internal application works, and never saw a signature

is($gw->get('/internal/ping')->{status}, 200, 'internal app reachable');

my @seen = $internal->requests;
ok(@seen >= 1, 'the internal app received requests');
my @cea = grep { ($_->{header}{authorization} // '') =~ /^CEA / } @seen;
is(scalar @cea, 0, 'no CEA Authorization ever reached the internal app')
    or diag explain [map { $_->{target} } @cea];
my @strayed = $stray->requests;
is(scalar @strayed, 0, 'nothing reached the stray server');

$gw->stop;

my @warn = grep { /\[warn\].*coupang_sign: refused/ } split /\n/,
           $gw->error_log;
is(scalar @warn, $refusals, 'one warn line per refusal');
like($warn[0], qr/refused to sign for "internal_app": it is not in "coupang_sign_hosts"/,
     'the warn line names the host and the directive');
like((grep { /for "localhost"/ } @warn)[0] // '', qr/names no upstream/,
     'a host that names no upstream is said so');
unlike($gw->error_log, qr/\[error\]/, 'no error line');

done_testing();
