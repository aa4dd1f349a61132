# The activation admin API on SQLite and on PostgreSQL: access (allow/deny
# and a key of the key file), the list filtered by state and time, paged
# by cursor, as JSON and CSV (contacts masked), one order's boxes, units
# and history, revoke and resend (the old link revoked, a new one made;
# a box that had no message, or no contact and one given in "to", gets
# its first message through the order sync's own path, at the mock SMS
# provider with a working link), problem+json errors naming the field
# (422 for a "to" no channel can reach: nothing minted), buyer contacts
# never in the error log, and the store down (503 with Retry-After).
# Orders come from t/lib/Activation.pm's fixture.

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
my $KEY = $Activation::ADMIN_KEY;

my $gw = Gateway->new(workers => 2);
my $whsec = Activation::keys($gw);
my $app = MockApp->new(port => $gw->port('app'), secret => $whsec);
my ($AK, $SECRET, $V) = ('admin-access-key', 'admin-secret-key', 'A00012345');
$gw->write_file('coupang.key', "$SECRET\n");
my $notify = MockNotify->new(gw => $gw);
$notify->write_keys($gw);
my $T = $VG ? '20s' : '5s';

# the order sync's message path (a resend's new message takes it); its
# Coupang is a mock with no orders
my $flow = <<"CONF";
    integrations_outbound_bind  127.0.0.1;
    coupang_access_key       $AK;
    coupang_secret_key_file  %%DIR%%/coupang.key;
    coupang_orders  vendor_id=$V  interval=10s  window=2m  api=v4
                    url=http://127.0.0.1:%%PORT:coupang%%;
    activation_product    70000000001  SOLVE-MATH-1;
    activation_link_base  http://127.0.0.1:%%PORT:gw%%/a/;
    activation_message    channel=sms;

    notify_provider sms type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=02-9302-2266 pf_id=$MockNotify::PF_ID timeout=$T;
    notify_route sms sms;
    notify_delivery interval=100ms;
CONF

# the links the mock SMS provider received for a number
sub sms_links {
    my ($to) = @_;
    return map { m{/a/([A-Za-z0-9_-]{43})}g }
           map { $_->{json}{message}{text} // '' }
           grep { ($_->{json}{message}{to} // '') eq $to }
           $notify->received('solapi');
}

sub admin {
    my ($method, $path, %a) = @_;
    my %h = ('Authorization' => "Bearer $KEY", %{ $a{headers} // {} });
    delete $h{Authorization} if $a{nokey};
    $h{'Content-Type'} = 'application/json' if defined $a{body};
    my $r = $gw->request($method, $path, headers => \%h,
                         body => $a{body} // '', timeout => $IO);
    $r->{json} = eval { decode_json($r->{body}) };
    return $r;
}

for my $backend (Store->backends) {
    my $st = Store->new($backend, $gw);
    my $cp = MockCoupang->new(port => $gw->port('coupang'), access_key => $AK,
                              secret => $SECRET, vendor_id => $V);
    $notify->clear;
    $gw->start(http => Activation::http($st, admin => 1, extra => $flow));

    # the first connection makes the schema
    ok(Activation::wait_schema($gw, $st), "[$backend] the schema is made");
    Store::wait_for(sub {
        admin('GET', '/admin/orders')->{status} == 200 }, $VG ? 120 : 10);

    # ---- access

    my $r = admin('GET', '/admin/orders', nokey => 1);
    is($r->{status}, 401, "[$backend] no key: 401");
    like($r->{headers}{'content-type'}, qr{^application/problem\+json},
         "[$backend] problem+json");
    like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/,
         "[$backend] WWW-Authenticate");
    $r = admin('GET', '/admin/orders',
               headers => { Authorization => 'Bearer wrong-key-0123456789' });
    is($r->{status}, 401, "[$backend] a wrong key: 401");
    $r = admin('GET', '/admin/orders', nokey => 1,
               headers => { 'X-Api-Key' => $KEY });
    is($r->{status}, 200, "[$backend] X-Api-Key: 200");
    $r = admin('GET', '/admin-denied/orders');
    is($r->{status}, 403, "[$backend] deny all: 403 before any key");

    # ---- the list

    my $t0 = int(time * 1000) - 100000;
    my @o;
    push @o, Activation::order($st, first_seen_at => $t0 + 1000 * $_)
        for 1 .. 5;
    my $nc = Activation::order($st, first_seen_at => $t0 + 6000,
                               contact => undef, state => 1);
    my $em = Activation::order($st, first_seen_at => $t0 + 7000,
                               contact => 'buyer@example.com');

    $r = admin('GET', '/admin/orders');
    is($r->{status}, 200, "[$backend] the list: 200");
    like($r->{headers}{'content-type'}, qr{^application/json},
         "[$backend] JSON");
    my @ids = map { $_->{order_id} } @{ $r->{json}{orders} };
    is_deeply(\@ids, [$em->{order_id}, $nc->{order_id},
                      reverse map { $_->{order_id} } @o],
              "[$backend] newest first");
    is($r->{json}{next}, undef, "[$backend] one page");
    my ($first) = grep { $_->{order_id} eq $o[0]{order_id} }
                  @{ $r->{json}{orders} };
    is($first->{state}, 'link_sent', "[$backend] state by name");
    is($first->{contact}{masked}, '050*****5678', "[$backend] masked");
    is($first->{contact}{kind}, 'phone', "[$backend] phone");
    is_deeply($first->{products}, ['SOLVE-MATH-1'], "[$backend] products");
    like($first->{first_seen_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
         "[$backend] RFC 3339");
    unlike($r->{body}, qr/050312345678|buyer\@example/,
           "[$backend] no contact in clear");
    my ($e) = grep { $_->{order_id} eq $em->{order_id} }
              @{ $r->{json}{orders} };
    is($e->{contact}{masked}, 'b***@example.com', "[$backend] email masked");

    $r = admin('GET', '/admin/orders?state=no_contact');
    is_deeply([map { $_->{order_id} } @{ $r->{json}{orders} }],
              [$nc->{order_id}], "[$backend] state=no_contact");
    is($r->{json}{orders}[0]{contact}, undef, "[$backend] no contact: null");

    $r = admin('GET', '/admin/orders?state=no_contact,link_sent&limit=3');
    is(scalar @{ $r->{json}{orders} }, 3, "[$backend] limit=3");
    ok($r->{json}{next}, "[$backend] a next cursor");
    my @all = map { $_->{order_id} } @{ $r->{json}{orders} };
    while (my $next = $r->{json}{next}) {
        $r = admin('GET', "/admin/orders?state=no_contact,link_sent&limit=3"
                          . "&after=$next");
        push @all, map { $_->{order_id} } @{ $r->{json}{orders} };
    }
    is(scalar @all, 7, "[$backend] pages: every order once");
    is(scalar(keys %{{ map { $_ => 1 } @all }}), 7, "[$backend] no repeats");

    my $since = Activation::iso($t0 + 2500);
    my $until = Activation::iso($t0 + 4500);
    $r = admin('GET', "/admin/orders?since=$since&until=$until");
    is_deeply([map { $_->{order_id} } @{ $r->{json}{orders} }],
              [$o[3]{order_id}, $o[2]{order_id}], "[$backend] since, until");

    for my $bad (['state=used', 'state'], ['limit=0', 'limit'],
                 ['limit=501', 'limit'], ['since=yesterday', 'since'],
                 ['after=x', 'after'], ['format=xml', 'format'],
                 ['limit=1&limit=2', 'limit'], ['sort=asc', undef]) {
        $r = admin('GET', "/admin/orders?$bad->[0]");
        is($r->{status}, 400, "[$backend] $bad->[0]: 400");
        like($r->{json}{detail} // '', qr/^"\Q$bad->[1]\E"/,
             "[$backend] ...naming $bad->[1]") if defined $bad->[1];
    }

    # ---- CSV

    $r = admin('GET', '/admin/orders.csv');
    is($r->{status}, 200, "[$backend] CSV: 200");
    like($r->{headers}{'content-type'}, qr{^text/csv}, "[$backend] text/csv");
    my @lines = split /\r\n/, $r->{body};
    is($lines[0], 'order_id,shipment_box_id,state,contact,first_seen_at,'
                  . 'units,redeemed,message,fulfilment,products,updated_at',
       "[$backend] the header row");
    is(scalar @lines, 8, "[$backend] a row per order");
    like($r->{body}, qr/^\Q$nc->{order_id}\E,\d+,no_contact,,/m,
         "[$backend] no contact: an empty cell");
    unlike($r->{body}, qr/050312345678/, "[$backend] masked in CSV too");
    $r = admin('GET', '/admin/orders?format=csv&limit=2');
    is(scalar(split /\r\n/, $r->{body}), 3, "[$backend] format=csv&limit=2");
    ok($r->{headers}{'x-next-cursor'}, "[$backend] X-Next-Cursor");

    # ---- one order, after a redeem

    my $red = Activation::order($st);
    $r = $gw->request('POST', "/a/$red->{tokens}[0]", timeout => $IO);
    is($r->{status}, 303, "[$backend] redeemed through the link");
    Store::wait_for(sub { $st->value("SELECT state FROM integrations_orders"
                                     . " WHERE order_id = '$red->{order_id}'")
                          == 3 });
    $r = admin('GET', "/admin/orders/$red->{order_id}");
    is($r->{status}, 200, "[$backend] one order: 200");
    is($r->{json}{state}, 'redeemed', "[$backend] its state");
    is($r->{json}{boxes}[0]{shipment_box_id}, $red->{box}, "[$backend] box");
    like($r->{json}{boxes}[0]{buyer}, qr/^\x{AE40}\*+$/,
         "[$backend] the buyer's name masked");
    is($r->{json}{units}[0]{grant}, 'granted', "[$backend] granted");
    ok($r->{json}{units}[0]{link}{used_at}, "[$backend] the link used");
    is_deeply([map { $_->{event} } @{ $r->{json}{history} }],
              ['redeem', 'redeemed'], "[$backend] the history");
    $r = admin('GET', '/admin/orders/999999999');
    is($r->{status}, 404, "[$backend] an unknown order: 404");
    $r = admin('GET', '/admin/orders/12x');
    is($r->{status}, 404, "[$backend] a bad id: 404");
    $r = admin('POST', "/admin/orders/$red->{order_id}");
    is($r->{status}, 405, "[$backend] POST to an order: 405");

    # ---- revoke

    my $rv = Activation::order($st, units => 2);
    $r = admin('POST', "/admin/orders/$rv->{order_id}/revoke",
               body => '{"reason":"refund by CS"}');
    is($r->{status}, 200, "[$backend] revoke: 200");
    is($r->{json}{changed}, 2, "[$backend] two units");
    is($r->{json}{units}[0]{state}, 'revoked', "[$backend] revoked");
    is($gw->request('GET', "/a/$rv->{tokens}[$_]")->{status}, 403,
       "[$backend] link $_ is revoked") for 0, 1;
    is($st->value("SELECT state FROM integrations_orders WHERE order_id ="
                  . " '$rv->{order_id}'"), 4, "[$backend] the order revoked");
    is($st->value("SELECT revoke_reason FROM integrations_activations WHERE"
                  . " order_id = '$rv->{order_id}' AND unit = 1"),
       'refund by CS', "[$backend] the reason kept");
    $r = admin('POST', "/admin/orders/$rv->{order_id}/revoke");
    is($r->{status}, 409, "[$backend] revoked again: 409");
    $r = admin('POST', '/admin/orders/999999999/revoke');
    is($r->{status}, 404, "[$backend] revoke an unknown order: 404");
    $r = admin('POST', "/admin/orders/$rv->{order_id}/revoke",
               body => '{"reason":""}');
    is($r->{status}, 400, "[$backend] an empty reason: 400");
    like($r->{json}{detail}, qr/^"reason"/, "[$backend] naming reason");
    $r = admin('POST', "/admin/orders/$rv->{order_id}/revoke",
               body => '{"contact":"010-1234-5678"}');
    is($r->{status}, 400, "[$backend] revoke takes no contact: 400");
    $r = admin('POST', "/admin/orders/$rv->{order_id}/revoke", body => '{');
    is($r->{status}, 400, "[$backend] not JSON: 400");

    # a redeemed unit revoked: activation_revoke becomes due
    $r = admin('POST', "/admin/orders/$red->{order_id}/revoke");
    is($r->{status}, 200, "[$backend] revoke a redeemed order");
    is($st->value("SELECT revoke_call_state FROM integrations_activations"
                  . " WHERE order_id = '$red->{order_id}'"), 1,
       "[$backend] its activation_revoke call is due");
    is($gw->request('GET', "/a/$red->{tokens}[0]")->{status}, 403,
       "[$backend] its used link now says revoked");

    # ---- resend

    my $rs = $o[0];
    my $old = $rs->{hashes}[0];
    $r = admin('POST', "/admin/orders/$rs->{order_id}/resend");
    is($r->{status}, 200, "[$backend] resend: 200");
    is($r->{json}{changed}, 1, "[$backend] one unit");
    is($r->{json}{units}[0]{state}, 'synced', "[$backend] synced again");
    unlike($r->{body}, qr/token|\/a\//, "[$backend] no link in the answer");
    is($r->{json}{message}, 'queued',
       "[$backend] no message to renew: a new one queued");
    is($gw->request('GET', "/a/$rs->{tokens}[0]")->{status}, 403,
       "[$backend] the old link is revoked");
    my @got;
    ok(Store::wait_for(sub { @got = sms_links('050312345678') },
                       $VG ? 120 : 20),
       "[$backend] the new message reaches the buyer's number")
        or diag explain [ $st->sql("SELECT state, error, channel FROM"
                                   . " integrations_notifications") ];
    is(scalar @got, 1, "[$backend] with one link");
    is($gw->request('GET', "/a/" . ($got[0] // 'x'))->{status}, 200,
       "[$backend] which works");
    my ($gen, $hash) = @{ ($st->sql("SELECT l.generation, l.token_hash FROM"
        . " integrations_activation_links l JOIN integrations_activations a"
        . " ON a.token_hash = l.token_hash WHERE a.order_id ="
        . " '$rs->{order_id}'"))[0] // [] };
    is($gen, 2, "[$backend] the live link is generation 2");
    isnt($hash, $old, "[$backend] with a new token");
    like($hash // '', qr/^[0-9a-f]{64}$/, "[$backend] stored hashed");

    $r = admin('POST', "/admin/orders/$red->{order_id}/resend");
    is($r->{status}, 200, "[$backend] resend a revoked order: reinstated");
    my $rd2 = Activation::order($st);
    $gw->request('POST', "/a/$rd2->{tokens}[0]", timeout => $IO);
    Store::wait_for(sub { $st->value("SELECT state FROM"
        . " integrations_activations WHERE order_id = '$rd2->{order_id}'")
        == 3 });
    $r = admin('POST', "/admin/orders/$rd2->{order_id}/resend");
    is($r->{status}, 409, "[$backend] resend a redeemed order: 409");

    # a no_contact box: without "to", and with a bad one, 422 naming it,
    # nothing minted
    my $links = "SELECT count(*) FROM integrations_activation_links WHERE"
                . " shipment_box_id = '$nc->{box}'";
    $r = admin('POST', "/admin/orders/$nc->{order_id}/resend");
    is($r->{status}, 422, "[$backend] resend without a contact: 422");
    like($r->{headers}{'content-type'}, qr{^application/problem\+json},
         "[$backend] problem+json");
    is($r->{json}{field}, 'to', "[$backend] naming to");
    like($r->{json}{detail}, qr/^"to"/, "[$backend] the detail too");
    for my $bad ('"010-12"', '"02-123-4567"', '"a@b"', '12', '""') {
        $r = admin('POST', "/admin/orders/$nc->{order_id}/resend",
                   body => "{\"to\":$bad}");
        is($r->{status}, 422, "[$backend] to $bad: 422");
        is($r->{json}{field}, 'to', "[$backend] to $bad: names to");
    }
    $r = admin('POST', "/admin/orders/$nc->{order_id}/resend",
               body => '{"to":"buyer@example.com"}');
    is($r->{status}, 422, "[$backend] an email and no email channel: 422");
    is($r->{json}{field}, 'to', "[$backend] naming to");
    is($st->value($links), 1, "[$backend] nothing minted");
    is($st->value("SELECT state FROM integrations_orders WHERE order_id ="
                  . " '$nc->{order_id}'"), 1, "[$backend] still no_contact");

    $r = admin('POST', "/admin/orders/$nc->{order_id}/resend",
               body => '{"to":"+82 10-9876-5432","reason":"CS call"}');
    is($r->{status}, 200, "[$backend] resend with a contact: 200");
    is($r->{json}{message}, 'queued', "[$backend] its message queued");
    is($r->{json}{messages_queued}, 1, "[$backend] one");
    is($st->value("SELECT contact FROM integrations_orders WHERE order_id ="
                  . " '$nc->{order_id}'"), '01098765432',
       "[$backend] the contact stored, normalized");
    is($st->value("SELECT message_state FROM integrations_orders WHERE"
                  . " order_id = '$nc->{order_id}'") >= 1, 1,
       "[$backend] the box has a message");
    is($gw->request('GET', "/a/$nc->{tokens}[0]")->{status}, 403,
       "[$backend] the old link is revoked");
    ok(Store::wait_for(sub { @got = sms_links('01098765432') },
                       $VG ? 120 : 20),
       "[$backend] the message reaches the number given")
        or diag explain [ $st->sql("SELECT state, error, channel FROM"
                                   . " integrations_notifications") ];
    is(scalar @got, 1, "[$backend] with one link");
    is($gw->request('GET', "/a/" . ($got[0] // 'x'))->{status}, 200,
       "[$backend] which works");
    ok(Store::wait_for(sub { $st->value("SELECT state FROM"
           . " integrations_orders WHERE order_id = '$nc->{order_id}'")
           == 2 }, $VG ? 120 : 30), "[$backend] the box is link_sent");
    $r = admin('GET', "/admin/orders/$nc->{order_id}");
    my @ev = map { $_->{event} } @{ $r->{json}{history} };
    is_deeply([@ev[0 .. 2]], ['contact_set', 'resend', 'message_queued'],
              "[$backend] the history says so") or diag explain \@ev;
    is($r->{json}{boxes}[0]{fulfilment}, 'done',
       "[$backend] the fixture's box stays fulfilled");
    my $log = $gw->error_log;
    unlike($log, qr/9876.?5432/, "[$backend] the number is not logged");

    # ---- the store down

    if ($backend eq 'postgresql') {
        $st->stop_server;
        $r = admin('GET', '/admin/orders');
        is($r->{status}, 503, "[$backend] store down: 503");
        ok($r->{headers}{'retry-after'}, "[$backend] Retry-After");
        $r = admin('POST', "/admin/orders/$o[1]{order_id}/revoke");
        is($r->{status}, 503, "[$backend] store down: revoke 503");
        $st->start_server;
        ok(Store::wait_for(sub {
            admin('GET', '/admin/orders')->{status} == 200 }),
           "[$backend] back with the store");
    }

    $gw->stop;
    $cp->stop;
}

done_testing();
