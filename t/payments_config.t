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
    . " base_url=https://api-m.sandbox.paypal.com/;"
    . " integrations_outbound_bind 127.0.0.1;"));
ok($ok, 'a good configuration passes') or diag $out;
unlike($out, qr/sk_test_1|secret/, 'no key in the output');

done_testing();
