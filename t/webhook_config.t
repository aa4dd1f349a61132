# Bad webhook_verify and webhook_dedupe_zone directives fail "nginx -t"
# with a message naming the parameter; good ones pass; a dedupe zone and
# the counters survive a reload.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(hmac_sha256_hex);

use Gateway;
use MockServer;

my $gw = Gateway->new;
my $dir = $gw->dir;

my $SECRET = 'whsec_CONFIG_TEST_SECRET';
$gw->write_file('stripe.key', "$SECRET\n");
$gw->write_file('standard.key', "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
$gw->write_file('notb64.key', "whsec_!!!not base64!!!\n");
$gw->write_file('toss.key', "0123456789abcdef\n");
$gw->write_file('empty.key', '');

sub conf {
    my ($location, $http) = @_;
    $http //= '';
    return <<"CONF";
    $http
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /hook { $location proxy_pass http://127.0.0.1:%%PORT:up%%; }
    }
CONF
}

my $S = "secret_file=$dir/stripe.key";

my @bad = (
    [ "webhook_verify adyen $S;",
      qr{unknown webhook provider "adyen"}, 'unknown provider' ],
    [ 'webhook_verify stripe;',
      qr{"webhook_verify" requires at least one "secret_file="},
      'no secret' ],
    [ "webhook_verify stripe secret_file=$dir/missing.key;",
      qr{webhook_verify "\Q$dir\E/missing.key" cannot be opened},
      'missing secret file' ],
    [ "webhook_verify stripe secret_file=$dir/empty.key;",
      qr{webhook_verify "\Q$dir\E/empty.key" is empty}, 'empty secret file' ],
    [ "webhook_verify stripe secret_file=;",
      qr{invalid parameter "secret_file="}, 'secret_file= without a path' ],
    [ "webhook_verify stripe $S colour=blue;",
      qr{invalid parameter "colour=blue"}, 'unknown parameter' ],
    [ "webhook_verify stripe $S tolerance=soon;",
      qr{invalid parameter "tolerance=soon"}, 'bad tolerance' ],
    [ "webhook_verify github $S tolerance=60s;",
      qr{"tolerance=" is only for stripe, standard and slack: github},
      'tolerance where no timestamp is signed' ],
    [ "webhook_verify square $S;",
      qr{"url=" is required for square}, 'square without url=' ],
    [ "webhook_verify twilio $S;",
      qr{"url=" is required for twilio}, 'twilio without url=' ],
    [ "webhook_verify twilio $S url=hooks.example.com/t;",
      qr{invalid parameter "url=hooks.example.com/t": the url must start},
      'url= without a scheme' ],
    [ "webhook_verify twilio $S url=https://h.example/t?x=1;",
      qr{invalid parameter "url=https://h.example/t\?x=1": the url is given without a query},
      'url= with a query' ],
    [ "webhook_verify stripe $S url=https://h.example/t;",
      qr{"url=" is only for square and twilio, not stripe},
      'url= for stripe' ],
    [ "webhook_verify stripe $S key_form=hex;",
      qr{"key_form=" is only for toss, not stripe}, 'key_form= for stripe' ],
    [ "webhook_verify toss secret_file=$dir/toss.key key_form=base64;",
      qr{invalid parameter "key_form=base64"}, 'unknown key_form' ],
    [ "webhook_verify stripe $S unsigned=allow;",
      qr{"unsigned=allow" is only for toss, not stripe},
      'unsigned=allow for stripe' ],
    [ "webhook_verify toss secret_file=$dir/toss.key unsigned=yes;",
      qr{invalid parameter "unsigned=yes"}, 'unsigned= other than allow' ],
    [ "webhook_verify stripe public_key_file=$dir/standard.key;",
      qr{"public_key_file=" is only for standard, not stripe},
      'public_key_file= for stripe' ],
    [ "webhook_verify standard public_key_file=$dir/standard.key;",
      qr{"webhook_verify" standard: },
      'a public key that is not one' ],
    [ "webhook_verify standard secret_file=$dir/notb64.key;",
      qr{"webhook_verify" standard: }, 'a Standard secret that is not base64' ],
    [ "webhook_verify stripe " . join(' ', ($S) x 9) . ';',
      qr{too many secrets in "webhook_verify", at most 8}, 'nine secrets' ],
    [ "webhook_verify stripe $S; webhook_verify github $S;",
      qr{"webhook_verify" directive is duplicate}, 'twice in a location' ],
    [ "webhook_verify stripe $S dedupe=nowhere;",
      qr{unknown webhook_dedupe_zone "nowhere"}, 'undeclared dedupe zone' ],
    [ "webhook_verify stripe $S dedupe=;",
      qr{invalid parameter "dedupe="}, 'empty dedupe zone name' ],
    [ "webhook_verify stripe $S;", qr{"webhook_dedupe_zone" must have "zone" parameter},
      'dedupe zone without zone=', 'webhook_dedupe_zone ttl=1h;' ],
    [ "webhook_verify stripe $S;", qr{invalid zone size "zone=wh"},
      'dedupe zone without a size', 'webhook_dedupe_zone zone=wh;' ],
    [ "webhook_verify stripe $S;", qr{invalid zone size "zone=wh:lots"},
      'dedupe zone with a bad size', 'webhook_dedupe_zone zone=wh:lots;' ],
    [ "webhook_verify stripe $S;", qr{zone "wh" is too small},
      'dedupe zone too small', 'webhook_dedupe_zone zone=wh:4k;' ],
    [ "webhook_verify stripe $S;", qr{invalid parameter "ttl=never"},
      'bad ttl', 'webhook_dedupe_zone zone=wh:1m ttl=never;' ],
    [ "webhook_verify stripe $S;", qr{invalid parameter "size=1m"},
      'unknown zone parameter', 'webhook_dedupe_zone zone=wh:1m size=1m;' ],
    [ "webhook_verify stripe $S dedupe=wh;", qr{duplicate zone "wh"},
      'zone declared twice',
      'webhook_dedupe_zone zone=wh:1m; webhook_dedupe_zone zone=wh:1m;' ],
    [ "webhook_dedupe_zone zone=wh:1m;",
      qr{"webhook_dedupe_zone" directive is not allowed here},
      'dedupe zone in a location' ],
    [ "webhook_verify stripe $S algorithm=sha256;",
      qr{"algorithm=" is only for twilio, not stripe}, 'algorithm= for stripe' ],
    [ "webhook_verify twilio $S url=https://h.example/t algorithm=md5;",
      qr{invalid parameter "algorithm=md5"}, 'an unknown algorithm' ],
    [ "webhook_verify twilio $S url=https://h.example/t algorithm=;",
      qr{invalid parameter "algorithm="}, 'algorithm= empty' ],
);

for my $case (@bad) {
    my ($loc, $re, $name, $http) = @$case;
    my ($passed, $out) = $gw->test_config(http => conf($loc, $http));
    ok(!$passed, "$name: nginx -t fails");
    like($out, $re, "$name: message names it") or diag $out;
    unlike($out, qr/CONFIG_TEST_SECRET|MfKQ9r8GKYqrTwjUPD8/,
           "$name: no secret in the output");
}

my @good = (
    [ "webhook_verify stripe $S;", 'stripe' ],
    [ "webhook_verify stripe $S tolerance=10m dedupe=wh;",
      'stripe with tolerance and a zone declared after',
      'webhook_dedupe_zone zone=wh:1m ttl=2d;' ],
    [ "webhook_verify standard secret_file=$dir/standard.key"
      . " secret_file=$dir/standard.key;", 'standard, two secrets' ],
    [ "webhook_verify toss secret_file=$dir/toss.key key_form=hex"
      . " unsigned=allow;", 'toss hex, unsigned=allow' ],
    [ "webhook_verify twilio $S url=https://hooks.example.com:8443/t;",
      'twilio with a port' ],
    [ "webhook_verify twilio $S url=https://h.example/t algorithm=sha1;",
      'twilio algorithm=sha1' ],
    [ "webhook_verify twilio $S $S url=https://h.example/t algorithm=sha256;",
      'twilio algorithm=sha256' ],
    [ "webhook_verify twilio $S url=https://h.example/t algorithm=auto;",
      'twilio algorithm=auto' ],
    [ "webhook_verify square secret_file=stripe.key url=http://x/y;",
      'a relative secret path' ],
);

for my $case (@good) {
    my ($loc, $name, $http) = @$case;
    my ($passed, $out) = $gw->test_config(http => conf($loc, $http));
    ok($passed, "$name: nginx -t passes") or diag $out;
}

# a reload keeps the dedupe zone's entries: a replay is still recognised

$gw = Gateway->new;      # a fresh error log: nginx -t wrote [emerg] lines
$gw->write_file('stripe.key', "$SECRET\n");
$S = "secret_file=" . $gw->dir . "/stripe.key";

my $up = MockServer->new(port => $gw->port('up'), handler => sub {
    return (200, {}, "ok\n");
});

my $loc = "webhook_verify stripe $S dedupe=wh;";
$gw->start(http => conf($loc, 'webhook_dedupe_zone zone=wh:1m;'));

my $t = time;
my $body = '{"id":"evt_reload","object":"event"}';
my %h = ('Stripe-Signature' => "t=$t,v1=" . hmac_sha256_hex("$t.$body", $SECRET));
my $r = $gw->request('POST', '/hook', headers => \%h, body => $body);
is($r->{status}, 200, 'before the reload: delivered');

$gw->reload(http => conf($loc, 'webhook_dedupe_zone zone=wh:1m ttl=1h;'));
$r = $gw->request('POST', '/hook', headers => \%h, body => $body);
is($r->{body}, qq({"status":"replayed"}\n), 'after a reload: still replayed');
my @seen = $up->requests;
is(scalar @seen, 1, 'the upstream saw it once');

$gw->stop;

done_testing();
