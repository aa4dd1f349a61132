# Bad payments directives fail "nginx -t" with a message naming them.

use strict;
use warnings;

use Test::More;

use Gateway;

my $gw = Gateway->new;
my $dir = $gw->dir;

$gw->write_file('sk.key', "sk_test_1\n");
$gw->write_file('pp.key', "client_id:secret\n");
$gw->write_file('ppbad.key', "no-colon\n");
$gw->write_file('ca.pem', "");

sub conf {
    my ($http, $loc) = @_;
    $loc //= 'payment_api;';
    return <<"CONF";
    $http
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /payments { $loc }
    }
CONF
}

my @bad = (
    [ "payment_provider visa key_file=$dir/sk.key;",
      qr{unknown payment provider "visa"}, 'unknown provider' ],
    [ "payment_provider stripe;",
      qr{payment provider "stripe" needs "key_file="}, 'no key file' ],
    [ "payment_provider stripe key_file=$dir/missing.key;",
      qr{payment_provider "\Q$dir\E/missing.key" cannot be opened},
      'missing key file' ],
    [ "payment_provider stripe key_file=$dir/sk.key base_url=ftp://x;",
      qr{invalid parameter "base_url=ftp://x"}, 'base_url not http(s)' ],
    [ "payment_provider stripe key_file=$dir/sk.key currencies=USD,XXX;",
      qr{invalid parameter "currencies=USD,XXX"}, 'unknown currency' ],
    [ "payment_provider stripe key_file=$dir/sk.key timeout=soon;",
      qr{invalid parameter "timeout=soon"}, 'bad timeout' ],
    [ "payment_provider stripe key_file=$dir/sk.key colour=blue;",
      qr{invalid parameter "colour=blue"}, 'unknown parameter' ],
    [ "payment_provider stripe key_file=$dir/sk.key;"
      . " payment_provider stripe key_file=$dir/sk.key;",
      qr{duplicate payment provider "stripe"}, 'duplicate provider' ],
    [ "payment_provider paypal key_file=$dir/ppbad.key;",
      qr{the paypal key file must hold "client_id:secret"},
      'paypal key without a colon' ],
    [ "", qr{"payment_api" requires at least one "payment_provider"},
      'payment_api without providers' ],
    [ "payment_provider stripe key_file=$dir/sk.key rate_limit=nope;",
      qr{payment provider "stripe": rate_limit_zone "nope" is unknown},
      'unknown rate_limit zone' ],
    [ "payment_provider stripe key_file=$dir/sk.key circuit_breaker=nope;",
      qr{payment provider "stripe": circuit_breaker_zone "nope" is unknown},
      'unknown circuit_breaker zone' ],
    [ "payment_provider stripe key_file=$dir/sk.key rate_limit=;",
      qr{invalid parameter "rate_limit="}, 'empty rate_limit zone' ],
    [ "payment_provider stripe key_file=$dir/sk.key failures=3;",
      qr{parameter "failures=3" of payment provider "stripe" needs "circuit_breaker="},
      'breaker thresholds without a breaker' ],
    [ "circuit_breaker_zone zone=cb:64k;"
      . " payment_provider stripe key_file=$dir/sk.key circuit_breaker=cb"
      . " open=later;",
      qr{invalid parameter "open=later"}, 'bad breaker open time' ],
    [ "circuit_breaker_zone zone=cb:64k;"
      . " payment_provider stripe key_file=$dir/sk.key circuit_breaker=cb"
      . " half_open=0;",
      qr{for payment provider "stripe"}, 'breaker conf check' ],
    [ "payment_provider stripe key_file=$dir/sk.key;"
      . " integrations_outbound_trusted_certificate $dir/ca.pem;",
      qr{"\Q$dir\E/ca.pem" is empty or too large}, 'empty CA file' ],
);

for my $case (@bad) {
    my ($ok, $out) = $gw->test_config(http => conf($case->[0]));
    ok(!$ok, "$case->[2]: nginx -t fails");
    like($out, $case->[1], "$case->[2]: says why") or diag $out;
}

my ($ok, $out) = $gw->test_config(http => conf(
    "payment_provider stripe key_file=$dir/sk.key currencies=usd,krw"
    . " methods=card timeout=10s connect_timeout=2s;"
    . " payment_provider paypal key_file=$dir/pp.key"
    . " base_url=https://api-m.sandbox.paypal.com/"
    . " rate_limit=calls circuit_breaker=cb failures=3 open=10s;"
    . " rate_limit_zone \$binary_remote_addr zone=calls:64k rate=5r/s;"
    . " circuit_breaker_zone zone=cb:64k;"
    . " integrations_outbound_bind 127.0.0.1;"));
ok($ok, 'a good configuration passes, zones defined after use') or diag $out;
unlike($out, qr/sk_test_1|secret/, 'no key in the output');

done_testing();
