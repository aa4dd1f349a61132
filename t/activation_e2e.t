# The e-book flow end to end, on the real paths (no fixture), on SQLite
# and PostgreSQL: an order appears at the mock Coupang, the order sync
# ingests it and queues the buyer's message, the sender delivers it to
# the mock SMS provider with the link, the link's GET shows the page and
# changes nothing, its POST redeems it, the mock app receives a grant it
# verifies, the buyer is redirected with a claim, and the admin API shows
# the order redeemed with its whole history; a buyer message still
# queued when a return revokes its box is never sent.

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
my $T = $VG ? '20s' : '5s';

my $flow = Activation::flow(contact => 'orderer answer', timeout => $T);

# each backend's half has its own gateway and stand-ins
Store->each_backend(sub {
    my ($backend) = @_;
    my $t = "[$backend]";
    my ($gw, $app, $notify, $st, $cp) = Activation::half($backend);
    my $box = $cp->add_order(items => [{ vendor_item_id => '3242596358' }]);

    $gw->start(http => Activation::http($st, admin => 1, extra => $flow));

    # the buyer's SMS, with the link
    my ($sms, $token);
    ok(Store::wait_for(sub {
        for my $r ($notify->received('solapi')) {
            my $text = $r->{json}{message}{text} // next;
            ($token) = $text =~ m{/a/([A-Za-z0-9_-]{43})} or next;
            $sms = $r;
            return 1;
        }
        return 0;
    }, $wait), "$t the buyer's message arrives with a link")
        or diag explain [ $cp->problems, $st->sql("SELECT state, error,"
            . " channel, provider FROM integrations_notifications"),
            $st->sql("SELECT item_name FROM integrations_order_items"),
            grep { /notif|sms|solapi/i } split /\n/, $gw->error_log ];
    my $path = "/a/" . ($token // '');

    my $order = $st->value("SELECT order_id FROM integrations_orders WHERE"
                           . " shipment_box_id = '$box'");
    ok($order, "$t the order is stored");

    # GET: the page, nothing used
    my $r = $gw->request('GET', $path, timeout => $IO);
    is($r->{status}, 200, "$t GET of the link: the page");
    is($st->value("SELECT count(*) FROM integrations_activation_links WHERE"
                  . " shipment_box_id = '$box' AND used_at IS NOT NULL"), 0,
       "$t GET used nothing");

    # POST: redeemed, granted, redirected
    $r = $gw->request('POST', $path, timeout => $IO);
    is($r->{status}, 303, "$t POST redeems");
    my ($jws) = ($r->{headers}{location} // '') =~ /claim=([^&]+)/;
    my $claims = MockApp->verify_claim($Activation::CLAIM_KEY, $jws);
    is($claims && $claims->{order_id}, $order, "$t the claim names the order");
    my @g = $app->grants;
    is(scalar @g, 1, "$t one grant");
    ok($g[0]{ok}, "$t its signature verifies");
    is($g[0]{json}{data}{shipment_box_id}, $box, "$t for the box");
    is($g[0]{json}{data}{product_code}, 'SOLVE-MATH-1', "$t the product");
    is($g[0]{json}{data}{contact}{kind}, 'phone', "$t with the contact");
    ok(Store::wait_for(sub { $st->value("SELECT state FROM"
            . " integrations_activations WHERE shipment_box_id = '$box'")
            == 3 }, $wait), "$t the unit is redeemed");
    is($gw->request('POST', $path, timeout => $IO)->{status}, 409,
       "$t a second POST: used");

    # The buyer clicked as the SMS arrived, before the order sync read the
    # message's outcome from the outbox (its next tick): that outcome,
    # recorded now, leaves the box redeemed (ORDER_MESSAGE_SET moves a
    # box only from synced).  (On a loaded machine the provider's answer
    # may come too late: the outbox then says "unknown", the sync
    # "failed"; the box stays redeemed all the same.)
    ok(Store::wait_for(sub { ($st->value("SELECT message_state FROM"
            . " integrations_orders WHERE shipment_box_id = '$box'") // 0)
            >= 2 }, $wait), "$t the message's outcome is recorded");
    my @order_events = map { $_->[0] } $st->sql("SELECT event FROM"
        . " integrations_order_events WHERE shipment_box_id = '$box'"
        . " AND event IN ('redeem', 'redeemed', 'message_sent',"
        . " 'message_failed') ORDER BY id");
    diag("$t the outcome came first (@order_events): the redeem did not"
         . " race it") if ($order_events[0] // '') =~ /^message/;

    # the admin API: redeemed, the whole history
    ok(Store::wait_for(sub {
        my $a = $gw->request('GET', "/admin/orders/$order", timeout => $IO,
            headers => { Authorization => "Bearer $Activation::ADMIN_KEY" });
        my $j = eval { decode_json($a->{body}) } // {};
        return ($j->{state} // '') eq 'redeemed';
    }, $wait), "$t the admin API shows it redeemed");
    $r = $gw->request('GET', "/admin/orders/$order", timeout => $IO,
        headers => { Authorization => "Bearer $Activation::ADMIN_KEY" });
    my $j = decode_json($r->{body});
    my @events = map { $_->{event} } @{ $j->{history} };
    ok((grep { $_ eq 'redeemed' } @events) && @events >= 3,
       "$t its history from ingest to redeemed: @events");
    is($j->{units}[0]{grant}, 'granted', "$t granted");
    my $l = $gw->request('GET', "/admin/orders?state=redeemed",
        timeout => $IO,
        headers => { Authorization => "Bearer $Activation::ADMIN_KEY" });
    my ($listed) = grep { $_->{order_id} eq $order }
                   @{ (eval { decode_json($l->{body}) } // {})->{orders} // [] };
    is($listed && $listed->{state}, 'redeemed',
       "$t the admin list shows it redeemed, after the message's outcome");

    # ---- a resend: a new link in the buyer's message, the old one revoked

    my $box2 = $cp->add_order(items => [{ vendor_item_id => '3242596358' }]);
    my $first;
    ok(Store::wait_for(sub {
        for my $r ($notify->received('solapi')) {
            my $text = $r->{json}{message}{text} // next;
            next if $text eq ($sms->{json}{message}{text} // '');
            ($first) = $text =~ m{/a/([A-Za-z0-9_-]{43})} or next;
            return 1;
        }
        return 0;
    }, $wait), "$t a second order's message arrives");
    Store::wait_for(sub { ($st->value("SELECT message_state FROM"
        . " integrations_orders WHERE shipment_box_id = '$box2'") // 0) >= 2 },
        $wait);
    my $order2 = $st->value("SELECT order_id FROM integrations_orders WHERE"
                            . " shipment_box_id = '$box2'");
    my $seen = () = $notify->received('solapi');

    $r = $gw->request('POST', "/admin/orders/$order2/resend",
        body => '{"reason":"the buyer lost the SMS"}', timeout => $IO,
        headers => { Authorization => "Bearer $Activation::ADMIN_KEY",
                     'Content-Type' => 'application/json' });
    is($r->{status}, 200, "$t resend: 200");
    my $rj = eval { decode_json($r->{body}) } // {};
    is($rj->{message}, 'queued', "$t the message is queued again");

    my $again;
    ok(Store::wait_for(sub {
        my @all = $notify->received('solapi');
        return 0 if @all <= $seen;
        ($again) = ($all[-1]{json}{message}{text} // '')
                   =~ m{/a/([A-Za-z0-9_-]{43})};
        return $again;
    }, $wait), "$t the buyer gets a new message");
    isnt($again, $first, "$t with a new link");
    is($gw->request('GET', "/a/$first", timeout => $IO)->{status}, 403,
       "$t the old link is revoked");
    is($gw->request('GET', "/a/$again", timeout => $IO)->{status}, 200,
       "$t the new link is fresh");
    is($gw->request('POST', "/a/$again", timeout => $IO)->{status}, 303,
       "$t and redeems");

    # ---- a return before the send: the queued message is given up

    # the SMS provider answers 429 (Retry-After 3 s): the message waits
    # in the outbox while the return, filed with the order, revokes the
    # box in the same sync run
    $notify->{solapi}->set_mode('ratelimit');
    my $box3 = $cp->add_order(items => [{ vendor_item_id => '3242596358' }],
                              phone => '0503-7777-0003');
    $cp->add_return($box3, '3242596358', 1);
    my $to3 = sub { scalar grep { ($_->{json}{message}{to} // '')
                                  eq '050377770003' }
                    $notify->received('solapi') };
    ok(Store::wait_for(sub { ($st->value("SELECT state FROM"
            . " integrations_orders WHERE shipment_box_id = '$box3'") // 0)
            == 4 }, $wait), "$t a return before the send revokes the box");
    # queued, it ends at once; if the sender had claimed it between the
    # ingest and the return (a slow machine), when its 429 comes back
    my ($nstate, $nerr, $next);
    Store::wait_for(sub {
        ($nstate, $nerr, $next) = @{ ($st->sql("SELECT n.state, n.error,"
            . " n.next_attempt_at FROM integrations_notifications n JOIN"
            . " integrations_orders o ON o.message_id = n.id WHERE"
            . " o.shipment_box_id = '$box3'"))[0] // [] };
        ($nstate // 0) == 4 }, $wait);
    is($nstate, 4, "$t   its queued message is given up");
    like($nerr // '', qr/^cancelled/, "$t   as cancelled");
    $notify->{solapi}->set_mode('healthy');
    my $tried = $to3->();

    # past the retry it would have had: nothing reaches the provider
    my ($until, $stop) = (($next // 0) / 1000 + 1.5, time + 15);
    sleep 0.2 while time < $until && time < $stop;
    is($to3->(), $tried, "$t   it never reaches the provider ($tried"
                         . " refused attempt(s) before)");
    my $order3 = $st->value("SELECT order_id FROM integrations_orders WHERE"
                            . " shipment_box_id = '$box3'");
    $r = $gw->request('GET', "/admin/orders/$order3", timeout => $IO,
        headers => { Authorization => "Bearer $Activation::ADMIN_KEY" });
    $j = eval { decode_json($r->{body}) } // {};
    my @h3 = map { $_->{event} } @{ $j->{history} // [] };
    ok((grep { $_ eq 'message_cancelled' } @h3),
       "$t   the history says message_cancelled: @h3");
    is($j->{state}, 'revoked', "$t   the order is revoked");

    $gw->stop;
    $cp->stop;
    $app->stop;
});

done_testing();
