# A return that lands while the buyer's message is being sent (issue 12),
# on SQLite and PostgreSQL: the mock SMS provider holds the send, the
# return at the mock Coupang revokes the box meanwhile, then the provider
# answers 503 (retryable, Retry-After 7 s).  The message is not queued
# again: it ends cancelled, never reaches the provider again (with the
# provider healthy past the retry it would have had), and the order's
# history says message_cancelled, once.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);

use Activation;
use Gateway;
use MockApp;
use MockCoupang;
use MockNotify;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $IO = $VG ? 60 : 10;
my $wait = $VG ? 120 : 30;
my $PHONE = '050377770012';

# the provider's timeout outlasts the held send (a return is noticed by
# the next sync run, at most 10 s later)
my $flow = Activation::flow(timeout => '90s');

# each backend's half has its own gateway and stand-ins
# (Store->each_backend: at once in the plain run)
Store->each_backend(sub {
    my ($backend) = @_;
    my $t = "[$backend]";
    my ($gw, $app, $notify, $st, $cp) = Activation::half($backend);
    $notify->{solapi}->set_mode('held');

    my $box = $cp->add_order(items => [{ vendor_item_id => '3242596358' }],
                             phone => '0503-7777-0012');
    my $sends = sub { scalar grep { ($_->{json}{message}{to} // '') eq $PHONE }
                      $notify->received('solapi') };
    my $n = sub { @{ ($st->sql("SELECT n.state, n.error, n.cancel_requested,"
        . " n.next_attempt_at FROM integrations_notifications n JOIN"
        . " integrations_orders o ON o.message_id = n.id WHERE"
        . " o.shipment_box_id = '$box'"))[0] // [] } };

    $gw->start(http => Activation::http($st, admin => 1, extra => $flow));

    ok(Store::wait_for(sub { $sends->() == 1 }, $wait),
       "$t the buyer's message is being sent (the provider holds it)")
        or diag explain [ $cp->problems, $n->() ];
    is(($n->())[0], 1, "$t   the outbox says sending");

    $cp->add_return($box, '3242596358', 1);
    ok(Store::wait_for(sub { ($st->value("SELECT state FROM"
            . " integrations_orders WHERE shipment_box_id = '$box'") // 0)
            == 4 }, $wait), "$t a return revokes the box meanwhile");
    my @row = $n->();
    is($row[0], 1, "$t   the message is still being sent");
    is($row[2], 'cancelled: the order was revoked',
       "$t   and marked to be cancelled");

    # the held send is answered 503 + Retry-After: 7
    $notify->{solapi}->set_mode('failing');
    ok(Store::wait_for(sub { (($n->())[0] // 1) != 1 }, $wait),
       "$t the attempt fails retryably");
    @row = $n->();
    is($row[0], 4, "$t   the message ends, not queued again");
    is($row[1], 'cancelled: the order was revoked', "$t   as cancelled");
    is($st->value("SELECT count(*) FROM integrations_notification_attempts a"
        . " JOIN integrations_orders o ON o.message_id = a.notification_id"
        . " WHERE o.shipment_box_id = '$box' AND a.http_status = 503"), 1,
       "$t   its one attempt recorded: 503");

    # past the retry it would have had, the provider healthy: nothing
    $notify->{solapi}->set_mode('healthy');
    my ($until, $stop) = (($row[3] // 0) / 1000 + 2, time + 20);
    sleep 0.2 while time < $until && time < $stop;
    is($sends->(), 1, "$t   it never reaches the provider again");

    ok(Store::wait_for(sub { ($st->value("SELECT message_state FROM"
            . " integrations_orders WHERE shipment_box_id = '$box'") // 0)
            == 4 }, $wait), "$t the box's message follows: cancelled");
    my $order = $st->value("SELECT order_id FROM integrations_orders WHERE"
                           . " shipment_box_id = '$box'");
    my $r = $gw->request('GET', "/admin/orders/$order", timeout => $IO,
        headers => { Authorization => "Bearer $Activation::ADMIN_KEY" });
    my $j = eval { decode_json($r->{body}) } // {};
    my @h = map { $_->{event} } @{ $j->{history} // [] };
    is(scalar(grep { $_ eq 'message_cancelled' } @h), 1,
       "$t   the history says message_cancelled, once: @h");
    ok(!grep({ /^message_(sent|failed)$/ } @h),
       "$t   and neither sent nor failed");
    is($j->{state}, 'revoked', "$t   the order is revoked");
    is($sends->(), 1, "$t   still one send");

    $gw->stop;
    $cp->stop;
    $app->stop;
});

done_testing();
