# coupang_orders: the order sync job against the stateful mock Coupang
# (t/lib/MockCoupangWing.pm, which checks every CEA signature and every
# acknowledgement and invoice body with its own code), on SQLite and
# PostgreSQL:
#
#   - ACCEPT boxes are ingested once each, across overlapping windows and
#     runs, with their units, hashed tokens and one outbox row (the buyer's
#     message, holding the link whose token hashes to the stored hash);
#   - unmapped and no_contact boxes are stored and held, with no message;
#   - once the outbox says sent, the box is acknowledged and its DIRECT
#     invoice uploaded (DEPARTURE at Coupang), each once; an INVALID_STATUS
#     invoice is retried later; a 429 on the list only delays;
#   - nothing on the wire is wrong, as the mock sees it.
#
# The outbox's sender is h-notify's; until it is merged the test plays
# it, by marking the rows sent in the database.

use strict;
use warnings;

use FindBin;
use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(sleep time);

use lib "$FindBin::Bin/lib";
use Gateway;
use MockCoupang;
use Store;

my $AK = 'orders-access-key';
my $SECRET = 'orders-secret-key';
my $V = 'A00012345';
my $wait = $ENV{VALGRIND} ? 90 : 30;

my $gw = Gateway->new(workers => 2);
$gw->write_file('coupang.key', "$SECRET\n");
chmod 0600, $gw->dir . '/coupang.key';

my $cp;

sub http {
    my ($st, %o) = @_;
    my $api = $o{api} // 'v4';
    return $st->directive . <<"EOF";
    rate_limit_zone  \$host  zone=coupang:1m  rate=10r/s  burst=5;
    coupang_access_key       $AK;
    coupang_secret_key_file  %%DIR%%/coupang.key;
    coupang_orders  vendor_id=$V  interval=10s  window=2m  api=$api
                    rate_limit=coupang  fulfil_retry=1s
                    url=http://127.0.0.1:%%PORT:coupang%%;
    activation_product    3242596358  EBOOK-001;
    activation_product    3242596359  EBOOK-002  quantity_links=per_order;
    activation_contact    orderer answer;
    activation_link_base  https://books.example.com/a/;
    activation_message    sms=sms;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location / { return 200 "ok\\n"; }
    }
EOF
}

sub wait_for { Store::wait_for(@_) }

for my $backend (Store->backends) {
    my $t = "[$backend]";
    my $st = Store->new($backend, $gw);
    my $api = $backend eq 'sqlite' ? 'v4' : 'v5';

    # a fresh Coupang for each backend
    $cp->stop if $cp;
    $cp = MockCoupang->new(port => $gw->port('coupang'), access_key => $AK,
                           secret => $SECRET, vendor_id => $V);

    my @boxes = $cp->add_orders(2);
    my $two = $cp->add_order(items => [
        { vendor_item_id => '3242596358', count => 2 },
        { vendor_item_id => '3242596359', count => 3 } ]);
    my $unmapped = $cp->add_order(items => [{ vendor_item_id => '1111' }]);
    my $nocontact = $cp->add_order(phone => '0503-****-5464');

    $gw->start(http => http($st, api => $api));

    # (the schema appears with the first worker's connection)
    my $orders = sub {
        eval { $st->value('SELECT COUNT(*) FROM integrations_orders') } // 0
    };
    ok(wait_for(sub { $orders->() >= 5 }, $wait),
       "$t the five ACCEPT boxes are ingested ($api)")
        or diag explain [ $cp->problems, map { $_->{header} } $cp->requests ];

    is($st->value("SELECT COUNT(*) FROM integrations_orders WHERE"
                  . " shipment_box_id = '$boxes[0]' AND order_id <> ''"), 1,
       "$t   the 18-digit box id kept digit for digit");
    is($st->value("SELECT COUNT(*) FROM integrations_activations WHERE"
                  . " shipment_box_id = '$two'"), 3,
       "$t   per_item: 2 units, per_order: 1");
    is($st->value("SELECT COUNT(*) FROM integrations_notifications"), 3,
       "$t   three buyer messages queued");
    is($st->value("SELECT fulfil_state FROM integrations_orders WHERE"
                  . " shipment_box_id = '$unmapped'"), 6,
       "$t   an unmapped box is held");
    is($st->value("SELECT state FROM integrations_orders WHERE"
                  . " shipment_box_id = '$nocontact'"), 1,
       "$t   a box without a usable contact is no_contact");

    # the message holds the links, whose tokens are stored only hashed

    my $nl = $backend eq 'sqlite' ? 'char(10)' : 'chr(10)';
    my ($text) = $st->value("SELECT replace(body_text, $nl, ' ') FROM"
                            . " integrations_notifications"
                            . " WHERE id = 'coupang:$V:$two'");
    my @tokens = ($text // '') =~ m{https://books\.example\.com/a/([A-Za-z0-9_-]{43})}g;
    is(scalar @tokens, 3, "$t   the message has its three links");
    my %hashes = map { $_->[0] => 1 } $st->sql(
        "SELECT token_hash FROM integrations_activation_links WHERE"
        . " shipment_box_id = '$two'");
    is(scalar(grep { $hashes{sha256_hex($_)} } @tokens), 3,
       "$t   each link's token is stored as its SHA-256 only");
    unlike($gw->error_log, qr/\Q$_\E/, "$t   no token in the error log")
        for $tokens[0] // 'none';
    is($st->value("SELECT recipient FROM integrations_notifications"
                  . " WHERE id = 'coupang:$V:$boxes[0]'"),
       '05031234' . sprintf('%04d', 5000 + ($boxes[0] % 100000)),
       "$t   to the orderer's safe number");

    # nothing is acknowledged before the message is sent

    sleep 3;
    is($cp->order($boxes[0])->{status}, 'ACCEPT',
       "$t a box waits for its message");

    # the sender (h-notify's) says sent; an INVALID_STATUS first

    $cp->fault(invoice_invalid => 1, list_429 => 1);
    $st->sql("UPDATE integrations_notifications SET state = 2");

    ok(wait_for(sub {
           !grep { $cp->order($_)->{status} ne 'DEPARTURE' }
               @boxes, $two
       }, $wait), "$t once sent: acknowledged and invoiced (DEPARTURE)")
        or diag explain [ map { $cp->order($_) } @boxes, $two ];

    my $o = $cp->order($two);
    is($o->{acks}, 1, "$t   acknowledged once");
    is($o->{invoices}, 1, "$t   invoiced once");
    is($o->{invoice}, $two, "$t   with the box id as its DIRECT number");
    ok((grep { ($cp->order($_)->{invoices_refused} // 0) == 1 } @boxes, $two),
       "$t   an INVALID_STATUS invoice was retried");
    is($cp->order($unmapped)->{status}, 'ACCEPT', "$t   the held box is not");
    is($st->value("SELECT COUNT(*) FROM integrations_orders WHERE"
                  . " fulfil_state = 3"), 3, "$t   three boxes done");

    # a new order later: the next run takes it, the old ones stay once

    my $late = $cp->add_order;
    ok(wait_for(sub { $orders->() >= 6 }, $wait),
       "$t a box created later is ingested by a later run");
    is($st->value("SELECT COUNT(*) FROM integrations_notifications"), 4,
       "$t   one more message, none twice");
    is($st->value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                  . " event = 'ingest'"), 6,
       "$t   each box ingested once over overlapping windows");

    is_deeply([ $cp->problems ], [], "$t the mock found nothing wrong");

    my @calls = grep { $_->{target} =~ /ordersheets\?/ } $cp->requests;
    ok(@calls >= 2, "$t   the list was pulled in several runs");

    # calls never closer than 100 ms
    my @times = map { $_->{time} } grep { $_->{target} =~ m{^/v2/} }
                $cp->requests;
    my $close = grep { $times[$_] - $times[$_ - 1] < 0.09 } 1 .. $#times;
    is($close, 0, "$t   no two calls within 100 ms");

    $gw->stop;
}

done_testing();
