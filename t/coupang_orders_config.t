# Bad coupang_orders and activation_* directives fail "nginx -t" naming
# the directive and the parameter; the README's example passes.

use strict;
use warnings;

use Test::More;

use Gateway;

my $gw = Gateway->new;
my $dir = $gw->dir;

$gw->write_file('coupang.key', "TEST_SECRET_KEY\n");
chmod 0600, "$dir/coupang.key";
$gw->write_file('revoke.secret', "whsec_" . ('QUJD' x 11) . "\n");
chmod 0600, "$dir/revoke.secret";
$gw->write_file('bad.secret', "not-a-secret\n");
chmod 0600, "$dir/bad.secret";

my $base = <<"CONF";
    integrations_store       sqlite:$dir/store.db;
    coupang_access_key       AK;
    coupang_secret_key_file  $dir/coupang.key;
    activation_link_base     https://books.example.com/a/;
CONF

sub conf {
    my ($directives, %o) = @_;
    my $b = $o{base} // $base;
    return <<"CONF";
$b
    $directives
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location / { return 200; }
    }
CONF
}

my $orders = 'coupang_orders vendor_id=A00012345;';

my @bad = (
    [ 'coupang_orders interval=1m;', qr/"coupang_orders" requires vendor_id=/ ],
    [ 'coupang_orders vendor_id=A0-1;',
      qr/"coupang_orders" directive invalid parameter "vendor_id=A0-1"/ ],
    [ 'coupang_orders vendor_id=A00012345 interval=5s;',
      qr/"coupang_orders" interval must be at least 10s/ ],
    [ 'coupang_orders vendor_id=A00012345 interval=5m window=5m;',
      qr/"coupang_orders" window must exceed interval/ ],
    [ 'coupang_orders vendor_id=A00012345 interval=soon;',
      qr/invalid parameter "interval=soon"/ ],
    [ 'coupang_orders vendor_id=A00012345 api=v6;',
      qr/invalid parameter "api=v6"/ ],
    [ 'coupang_orders vendor_id=A00012345 rate_limit=nope;',
      qr/rate_limit=nope: no such "rate_limit_zone"|"nope"/ ],
    [ 'coupang_orders vendor_id=A00012345 url=ftp://x;',
      qr/invalid parameter "url=ftp:\/\/x"/ ],
    [ 'coupang_orders vendor_id=A00012345 cs_interval=10s;',
      qr/invalid parameter "cs_interval=10s"/ ],
    [ 'coupang_orders vendor_id=A00012345 color=blue;',
      qr/invalid parameter "color=blue"/ ],
    [ "$orders $orders", qr/"coupang_orders" directive is duplicate/ ],
    [ "$orders activation_product 32425x6358 EBOOK-001;",
      qr/"activation_product" directive invalid vendorItemId "32425x6358"/ ],
    [ "$orders activation_product 1 A; activation_product 1 B;",
      qr/"activation_product" 1 is mapped twice/ ],
    [ "$orders activation_product 1 A quantity_links=all;",
      qr/"activation_product" directive invalid parameter "quantity_links=all"/ ],
    [ "$orders activation_contact orderer phonebook;",
      qr/"activation_contact" directive invalid parameter "phonebook"/ ],
    [ "$orders activation_contact none orderer;",
      qr/"activation_contact": "none" must come last/ ],
    [ "$orders activation_message template=activation;",
      qr/"activation_message" requires channel= or email_channel=/ ],
    [ "$orders activation_message channel=sms pigeon=on;",
      qr/"activation_message" directive invalid parameter "pigeon=on"/ ],
    [ "$orders activation_ttl forever;",
      qr/"activation_ttl" directive invalid value/ ],
    [ "$orders coupang_key_issued 2025-13-01;",
      qr/"coupang_key_issued" directive invalid date "2025-13-01"/ ],
    [ "$orders activation_revoke ftp://app/revoke secret_file=$dir/revoke.secret;",
      qr/"activation_revoke" invalid URL/ ],
    [ "$orders activation_revoke https://app/revoke key=$dir/revoke.secret;",
      qr/"activation_revoke" invalid parameter "key=/ ],
    [ "$orders activation_revoke https://app/revoke secret_file=$dir/bad.secret;",
      qr/"activation_revoke" secret_file "\Q$dir\E\/bad.secret": / ],
    [ "$orders activation_revoke https://app/revoke secret_file=$dir/none;",
      qr/activation_revoke.*none/ ],
);

for my $case (@bad) {
    my ($line, $want) = @$case;
    my ($ok, $out) = $gw->test_config(http => conf($line));
    ok(!$ok, "nginx -t refuses: $line");
    like($out, $want, '  naming what is wrong') or diag $out;
    like($out, qr/\[emerg\]/, '  as emerg');
}

# what the job needs around it

my ($ok, $out) = $gw->test_config(http => conf($orders,
    base => "    coupang_access_key AK;\n"
          . "    coupang_secret_key_file $dir/coupang.key;\n"
          . "    activation_link_base https://books.example.com/a/;\n"));
ok(!$ok && $out =~ /"coupang_orders" requires "integrations_store"/,
   'coupang_orders without a store is refused') or diag $out;

($ok, $out) = $gw->test_config(http => conf($orders,
    base => "    integrations_store sqlite:$dir/store.db;\n"
          . "    activation_link_base https://books.example.com/a/;\n"));
ok(!$ok && $out =~ /requires "coupang_access_key" and "coupang_secret_key_file"/,
   'coupang_orders without credentials is refused') or diag $out;

($ok, $out) = $gw->test_config(http => conf($orders,
    base => "    integrations_store sqlite:$dir/store.db;\n"
          . "    coupang_access_key AK;\n"
          . "    coupang_secret_key_file $dir/coupang.key;\n"));
ok(!$ok && $out =~ /"coupang_orders" requires "activation_link_base"/,
   'coupang_orders without a link base is refused') or diag $out;

($ok, $out) = $gw->test_config(http => conf($orders
    . ' activation_link_base http://x/a/;'));
ok(!$ok && $out =~ /"activation_link_base" directive is duplicate/,
   'activation_link_base twice is refused') or diag $out;

($ok, $out) = $gw->test_config(http => conf(
    "activation_revoke https://app/revoke secret_file=$dir/revoke.secret;"));
ok(!$ok && $out =~ /"activation_revoke" requires "coupang_orders"/,
   'activation_revoke without coupang_orders is refused') or diag $out;

($ok, $out) = $gw->test_config(http => <<"CONF");
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location / { coupang_orders vendor_id=A00012345; }
    }
CONF
ok(!$ok && $out =~ /"coupang_orders" directive is not allowed here/,
   'coupang_orders is for http{}');

# a complete configuration passes

($ok, $out) = $gw->test_config(http => conf(<<"CONF"));
    rate_limit_zone \$host zone=coupang:1m rate=10r/s;
    coupang_orders vendor_id=A00012345 interval=1m window=15m api=v5
                   rate_limit=coupang cs_interval=10m cs_urgent=12h
                   fulfil_retry=2m;
    activation_product 3242596358 EBOOK-001;
    activation_product 3242596359 EBOOK-002 quantity_links=per_order;
    activation_contact answer_email orderer receiver none;
    activation_ttl 30d;
    activation_message channel=sms email_channel=email shop=쏠브;
    activation_revoke https://app.example.com/revoke
                      secret_file=$dir/revoke.secret;
    coupang_key_issued 2025-06-01;
CONF
ok($ok, 'a complete configuration passes') or diag $out;

done_testing();
