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
#   - an acknowledgement whose answer is ambiguous has its boxes looked up
#     singly: applied and answered 500 or code 99 (the first one) or only
#     after the call's timeout (a later one, SQLite): never sent again,
#     invoiced once; answered 500 and NOT applied (PostgreSQL): sent once
#     more, then invoiced; cancelled by the buyer before the lookup
#     (SQLite): left to the return poll, never invoiced;
#   - nothing on the wire is wrong, as the mock sees it.
#
# The buyer's message goes through notifications (notify_route sms, the
# Solapi stand-in of t/lib/MockNotify.pm) and the staff's alerts through
# notify_alert (the Slack stand-in).

use strict;
use warnings;

use FindBin;
use Digest::SHA qw(sha256_hex hmac_sha256_base64);
use MIME::Base64;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use lib "$FindBin::Bin/lib";
use Gateway;
use MockCoupang;
use MockNotify;
use MockServer;
use Store;

my $AK = 'orders-access-key';
my $SECRET = 'orders-secret-key';
my $V = 'A00012345';
my $wait = $ENV{VALGRIND} ? 90 : 30;
# the providers' timeout: under valgrind on a loaded machine a send to a
# stand-in may take seconds (none of these tests waits for a timeout)
my $PT = $ENV{VALGRIND} ? '15s' : '3s';
# the order sync's call timeout (coupang_orders timeout=): short, for the
# acknowledgement the mock answers only after it (ack_delay, 3 s later)
my $CT = $ENV{VALGRIND} ? 10 : 3;
my $ACK_DELAY = $CT + 3;

# each backend's half has its own gateway and stand-ins
# (Store->each_backend)
my ($gw, $mock, $app, $cp);

# the seller's app: activation_revoke's receiver, which checks the
# Standard Webhooks signature with its own code
my $WHKEY = 'revoke-key-of-32-bytes-for-tests';

# a key issued 170 days ago (KST): 10 days left, inside the 14 of warning
my $issued = POSIX::strftime('%Y-%m-%d', gmtime(time + 9 * 3600 - 170 * 86400));

sub http {
    my ($st, %o) = @_;
    my $api = $o{api} // 'v4';
    return $st->directive . <<"EOF";
    rate_limit_zone  \$host  zone=coupang:1m  rate=10r/s  burst=5;
    coupang_access_key       $AK;
    coupang_secret_key_file  %%DIR%%/coupang.key;
    coupang_orders  vendor_id=$V  interval=10s  window=2m  api=$api
                    rate_limit=coupang  fulfil_retry=1s  timeout=${CT}s
                    url=http://127.0.0.1:%%PORT:coupang%%;
    activation_product    3242596358  EBOOK-001;
    activation_product    3242596359  EBOOK-002  quantity_links=per_order;
    activation_contact    orderer answer;
    activation_link_base  https://books.example.com/a/;
    coupang_key_issued    $issued;
    activation_revoke     http://127.0.0.1:%%PORT:app%%/revoke
                          secret_file=%%DIR%%/revoke.secret;
    activation_message    channel=sms shop=쏠브;

    notify_provider sms_kr type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=02-9302-2266 pf_id=$MockNotify::PF_ID timeout=$PT;
    notify_provider ops type=slack key_file=%%DIR%%/slack.key
                    base_url=http://127.0.0.1:%%PORT:slack%% timeout=$PT;
    notify_route  sms sms_kr;
    notify_route  ops ops;
    notify_alert  ops channel=#orders;
    notify_delivery interval=100ms;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location / { return 200 "ok\\n"; }
        location = /metrics { integrations_status; }
    }
EOF
}

sub wait_for { Store::wait_for(@_) }

# what the stand-ins received, decoded here (bytes: the tests compare
# UTF-8 bytes)
sub solapi_sms {
    return grep { ($_->{json}{message}{type} // '') =~ /^(SMS|LMS)$/ }
           map { +{ json => eval { JSON::PP->new->decode($_->{body}) } // {} } }
           $mock->received('solapi');
}

sub slack_texts {
    return map { (eval { JSON::PP->new->decode($_->{body}) } // {})->{text}
                 // '' } $mock->received('slack');
}

Store->each_backend(sub {
    my ($backend) = @_;
    my $t = "[$backend]";
    $gw = Gateway->new(workers => 2);
    $gw->write_file('coupang.key', "$SECRET\n");
    chmod 0600, $gw->dir . '/coupang.key';
    $mock = MockNotify->new(gw => $gw);
    $mock->write_keys($gw);

    $gw->write_file('revoke.secret',
                    'whsec_' . encode_base64($WHKEY, '') . "\n");
    chmod 0600, $gw->dir . '/revoke.secret';
    $app = MockServer->new(port => $gw->port('app'), handler => sub {
        my ($req) = @_;
        my $id = $req->{header}{'webhook-id'} // '';
        my $ts = $req->{header}{'webhook-timestamp'} // '';
        my $sig = $req->{header}{'webhook-signature'} // '';
        (my $want = hmac_sha256_base64("$id.$ts.$req->{body}", $WHKEY)) .= '='
            x ((4 - length(hmac_sha256_base64('', $WHKEY)) % 4) % 4);
        return (401, {}, 'bad signature') unless $sig eq "v1,$want";
        return (401, {}, 'stale') unless abs(time - $ts) < 300;
        return (200, {}, '');
    });
    my $st = Store->new($backend, $gw);
    my $api = $backend eq 'sqlite' ? 'v4' : 'v5';

    $cp = MockCoupang->new(port => $gw->port('coupang'), access_key => $AK,
                           secret => $SECRET, vendor_id => $V,
                           ack_delay => $ACK_DELAY);

    my @boxes = $cp->add_orders(2);
    my $two = $cp->add_order(items => [
        { vendor_item_id => '3242596358', count => 2 },
        { vendor_item_id => '3242596359', count => 3 } ]);
    my $unmapped = $cp->add_order(items => [{ vendor_item_id => '1111' }]);
    my $nocontact = $cp->add_order(phone => '0503-****-5464');

    # two unanswered inquiries, one of them a call-center one (urgent)
    $cp->add_inquiry(kind => 'online', text => 'PDF인가요?');
    $cp->add_inquiry(kind => 'call');

    # the first list answered 429, the first invoice INVALID_STATUS; the
    # first acknowledgement applied by Coupang but answered 500 (SQLite)
    # or with items of code 99, neither done nor retryRequired (PostgreSQL)
    $cp->fault(invoice_invalid => 1, list_429 => 1,
               $backend eq 'sqlite' ? (ack_500_applied => 1)
                                    : (ack_99_applied => 1));

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
    is($st->value("SELECT COUNT(*) FROM integrations_notifications WHERE"
                  . " channel = 'sms'"), 3, "$t   three buyer messages queued")
        or diag join "\n", $gw->error_log =~ /(coupang_orders: .*)/g;
    is($st->value("SELECT fulfil_state FROM integrations_orders WHERE"
                  . " shipment_box_id = '$unmapped'"), 6,
       "$t   an unmapped box is held");
    is($st->value("SELECT state FROM integrations_orders WHERE"
                  . " shipment_box_id = '$nocontact'"), 1,
       "$t   a box without a usable contact is no_contact");

    # the message holds the links, whose tokens are stored only hashed

    my $nl = $backend eq 'sqlite' ? 'char(10)' : 'chr(10)';
    my ($text) = $st->value("SELECT replace(n.body_text, $nl, ' ') FROM"
                            . " integrations_notifications n"
                            . " JOIN integrations_orders o"
                            . " ON o.message_id = n.id"
                            . " WHERE o.shipment_box_id = '$two'");
    my @tokens = ($text // '') =~ m{https://books\.example\.com/a/([A-Za-z0-9_-]{43})}g;
    is(scalar @tokens, 3, "$t   the message has its three links");
    my %hashes = map { $_->[0] => 1 } $st->sql(
        "SELECT token_hash FROM integrations_activation_links WHERE"
        . " shipment_box_id = '$two'");
    is(scalar(grep { $hashes{sha256_hex($_)} } @tokens), 3,
       "$t   each link's token is stored as its SHA-256 only");
    unlike($gw->error_log, qr/\Q$_\E/, "$t   no token in the error log")
        for $tokens[0] // 'none';
    is($st->value("SELECT n.recipient FROM integrations_notifications n"
                  . " JOIN integrations_orders o ON o.message_id = n.id"
                  . " WHERE o.shipment_box_id = '$boxes[0]'"),
       '05031234' . sprintf('%04d', 5000 + ($boxes[0] % 100000)),
       "$t   to the orderer's safe number");

    # the messages at the SMS provider, then Coupang sees the boxes
    # acknowledged and invoiced; an INVALID_STATUS invoice first

    ok(wait_for(sub { solapi_sms() >= 3 }, $wait),
       "$t the three buyer messages reach the SMS provider")
        or diag explain [ $mock->received('solapi') ];
    my ($sms) = grep { $_->{json}{message}{text} =~ /\Q$tokens[0]\E/ }
                solapi_sms();
    ok($sms, "$t   one holds the box's links");
    like($sms ? $sms->{json}{message}{text} : '', qr/^\[쏠브\]/,
         "$t   in the seller's words");

    ok(wait_for(sub {
           !grep { $cp->order($_)->{status} ne 'DEPARTURE' }
               @boxes, $two
       }, $wait), "$t once sent: acknowledged and invoiced (DEPARTURE)")
        or diag explain [ $st->sql("SELECT o.shipment_box_id, o.message_id,"
                                   . " o.message_state, o.fulfil_state,"
                                   . " n.id, n.state FROM integrations_orders o"
                                   . " LEFT JOIN integrations_notifications n"
                                   . " ON n.id = o.message_id"),
                          $st->sql("SELECT * FROM integrations_notification_attempts"),
                          $gw->error_log =~ /(coupang_orders: .*)/g ];

    my $o = $cp->order($two);
    is($o->{acks}, 1, "$t   acknowledged once");
    is($o->{invoices}, 1, "$t   invoiced once");

    # the ambiguous acknowledgement: its boxes looked up singly, never
    # acknowledged a second time, each invoiced once
    my @first = @{ ($cp->state(sub { $_[0]{ack_log} }) // [[]])->[0] };
    ok(@first >= 1, "$t   the first acknowledgement named its boxes");
    for my $b (@first) {
        my $s = $cp->order($b);
        ok(($s->{lookups} // 0) >= 1, "$t   box $b: looked up singly");
        is($s->{ack_calls}, 1, "$t   box $b: acknowledged in one call only");
        is($s->{acks_refused} // 0, 0, "$t   box $b: never sent again");
        is($s->{invoices}, 1, "$t   box $b: invoiced once");
        is($st->value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                      . " shipment_box_id = '$b' AND event = 'acknowledged'"),
           1, "$t   box $b: one 'acknowledged' in its history");
    }
    is(scalar(grep { ($cp->order($_)->{ack_calls} // 0) != 1 } @boxes, $two),
       0, "$t   every box acknowledged in one call");
    is($o->{invoice}, $two, "$t   with the box id as its DIRECT number");
    ok((grep { ($cp->order($_)->{invoices_refused} // 0) == 1 } @boxes, $two),
       "$t   an INVALID_STATUS invoice was retried");
    is($cp->order($unmapped)->{status}, 'ACCEPT', "$t   the held box is not");
    is($st->value("SELECT COUNT(*) FROM integrations_orders WHERE"
                  . " fulfil_state = 3"), 3, "$t   three boxes done");

    # the CS monitor (the first sync's): one message with the counts and
    # the Wing link

    wait_for(sub { grep { /고객문의/ } slack_texts() }, $wait);
    my @cs = grep { /고객문의/ } slack_texts();
    is(scalar @cs, 1, "$t one CS alert");
    like($cs[0] // '', qr/긴급: 1건.*일반: 1건/s, "$t   counts by urgency");
    like($cs[0] // '', qr{wing\.coupang\.com}, "$t   the Wing link");
    unlike($cs[0] // '', qr/PDF인가요/, "$t   no inquiry text");

    # in the next sync: a new order, and a return of a fulfilled box (its
    # link revoked, the app told, staff alerted)

    $app->clear;
    my $late = $cp->add_order;

    # its acknowledgement ambiguous too: applied but answered only after
    # the call's timeout (SQLite), or answered 500 and NOT applied
    # (PostgreSQL); on SQLite one more box, which the buyer cancels as
    # soon as it is acknowledged, before the gateway can look it up
    my $gone;
    if ($backend eq 'sqlite') {
        $gone = $cp->add_order;
        $cp->cancel($gone, on_ack => 1);
        $cp->box_fault($_, 'ack_timeout_applied') for $late, $gone;
    } else {
        $cp->box_fault($late, 'ack_500');
    }
    my $more = $gone ? 1 : 0;
    my $rid = $cp->add_return($boxes[0], '3242596358', 1);

    # returns first seen at Coupang's check (PR) or completed (CC): a
    # fast refund, or a poll missed while they were UC
    my $pr = $cp->add_return($boxes[1], '3242596358', 1, status => 'PR');
    my $cc = $cp->add_return($two, '3242596359', 1, status => 'CC');

    ok(wait_for(sub { $orders->() >= 6 + $more }, $wait),
       "$t a box created later is ingested by a later run");
    ok(wait_for(sub {
           $st->value("SELECT COUNT(*) FROM integrations_activation_links"
                      . " WHERE shipment_box_id = '$boxes[0]'"
                      . " AND revoked_at IS NOT NULL") == 1
       }, $wait), "$t a return revokes the box's link");
    is($st->value("SELECT state FROM integrations_orders WHERE"
                  . " shipment_box_id = '$boxes[0]'"), 4,
       "$t   the order is revoked");
    ok(wait_for(sub {
           grep { $_->{target} eq '/revoke' } $app->requests
       }, $wait), "$t   activation_revoke is called");
    my ($call) = grep { $_->{target} eq '/revoke' } $app->requests;
    like($call ? $call->{body} : '', qr/"activation\.revoke".*"reason":"return"/,
         "$t   an activation.revoke for the return");
    like($call ? $call->{body} : '', qr/"shipment_box_id":"$boxes[0]"/,
         "$t   naming the box, as a string");
    ok(wait_for(sub {
           $st->value("SELECT revoke_call_state FROM integrations_activations"
                      . " WHERE shipment_box_id = '$boxes[0]'") == 2
       }, $wait), "$t   its signature verified: done");
    ok(wait_for(sub { grep { /반품\/취소/ } slack_texts() }, $wait),
       "$t   staff alerted");

    my $revoked = sub {
        my ($box) = @_;
        return $st->value("SELECT COUNT(*) FROM integrations_activations"
                          . " WHERE shipment_box_id = '$box' AND state = 4");
    };
    my $calls = sub {
        my ($box) = @_;
        return scalar grep { $_->{target} eq '/revoke'
                             && $_->{body} =~ /"shipment_box_id":"$box"/ }
                      $app->requests;
    };
    ok(wait_for(sub { $revoked->($boxes[1]) == 1 && $revoked->($two) == 1 },
                $wait), "$t a return listed only as PR, one only as CC:"
                        . " each revokes its unit")
        or diag explain [ $cp->return_lists,
                          $st->sql("SELECT * FROM integrations_coupang_returns") ];
    is($st->value("SELECT COUNT(*) FROM integrations_activation_links WHERE"
                  . " shipment_box_id = '$boxes[1]' AND revoked_at IS NULL"),
       0, "$t   the PR box's token revoked");
    is($st->value("SELECT state FROM integrations_orders WHERE"
                  . " shipment_box_id = '$boxes[1]'"), 4,
       "$t   the PR box is revoked");
    is($st->value("SELECT COUNT(*) FROM integrations_activation_links WHERE"
                  . " shipment_box_id = '$two' AND vendor_item_id ="
                  . " '3242596359' AND revoked_at IS NULL"), 0,
       "$t   the CC item's token revoked");
    is($revoked->($two), 1, "$t   only it: the box's other units stay");
    ok(wait_for(sub { $calls->($boxes[1]) >= 1 && $calls->($two) >= 1 },
                $wait), "$t   activation_revoke called for each");

    # the PR return completes: listed under CC from now on
    $cp->return_status($pr, 'CC');
    my $cc_lists = $cp->return_lists->{CC} // 0;

    my $m = $gw->get('/metrics')->{body} // '';
    like($m, qr/^integrations_coupang_orders_boxes_total ${\ (6 + $more)}$/m,
         "$t metrics: six boxes" . ($more ? ' and the cancelled one' : ''));
    like($m, qr/^integrations_coupang_orders_fulfilled_total [345]$/m,
         "$t   three or more fulfilled");
    like($m, qr/^integrations_coupang_orders_revoked_total 3$/m,
         "$t   three revoked (UC, PR, CC)");
    like($m, qr/^integrations_coupang_orders_unmapped_total 1$/m,
         "$t   one unmapped");

    # the later box's ambiguous acknowledgement, its outcome written before
    # the restart (which would cut a call in flight)

    my $fulfil = sub {
        my ($box) = @_;
        return $st->value("SELECT fulfil_state FROM integrations_orders"
                          . " WHERE shipment_box_id = '$box'") // -1;
    };
    my $events = sub {
        my ($box, $event) = @_;
        return $st->value("SELECT COUNT(*) FROM integrations_order_events"
                          . " WHERE shipment_box_id = '$box'"
                          . " AND event = '$event'");
    };
    my $diag = sub {
        diag explain [ $cp->order($late), $gone ? $cp->order($gone) : (),
                       $st->sql("SELECT shipment_box_id, fulfil_state,"
                                . " fulfil_attempts, fulfil_error FROM"
                                . " integrations_orders"),
                       $gw->error_log =~ /(coupang_orders: .*)/g ];
    };

    if ($gone) {
        ok(wait_for(sub { $fulfil->($late) == 3 && $fulfil->($gone) == 5 },
                    $wait + $ACK_DELAY),
           "$t an acknowledgement applied, answered after the timeout:"
           . " its boxes looked up") or $diag->();
        my $s = $cp->order($late);
        is_deeply($s->{wire}, ['ack', 'lookup INSTRUCT', 'invoice'],
                  "$t   a box acknowledged: looked up singly, then invoiced")
            or diag explain $s->{wire};
        is($s->{acks_refused} // 0, 0, "$t   never sent again");
        is($s->{invoices}, 1, "$t   invoiced once");
        is($s->{status}, 'DEPARTURE', "$t   DEPARTURE");
        is($events->($late, 'acknowledged'), 1,
           "$t   one 'acknowledged' in its history");

        $s = $cp->order($gone);
        is_deeply($s->{wire}, ['ack', 'lookup canceled'],
                  "$t the box cancelled before its lookup: no second"
                  . " acknowledgement, no invoice") or diag explain $s->{wire};
        is($s->{status}, 'INSTRUCT', "$t   not DEPARTURE");
        is($events->($gone, 'canceled'), 1,
           "$t   canceled in its history, left to the return poll");
        is($events->($gone, 'acknowledged') + $events->($gone, 'invoiced'),
           0, "$t   neither acknowledged nor invoiced there");

        # the cancellation reaches Coupang's list (after the restart)
        $cp->add_return($gone, '3242596358', 1, type => 'CANCEL');

    } else {
        ok(wait_for(sub { $cp->order($late)->{status} eq 'DEPARTURE' },
                    $wait), "$t an acknowledgement answered 500, not applied:"
                            . " acknowledged again, invoiced (DEPARTURE)")
            or $diag->();
        my $s = $cp->order($late);
        is_deeply($s->{wire}, ['ack', 'lookup ACCEPT', 'ack', 'invoice'],
                  "$t   looked up (still ACCEPT), then exactly one more"
                  . " acknowledgement, then its invoice")
            or diag explain $s->{wire};
        is($s->{acks}, 1, "$t   applied once");
        is($s->{acks_refused} // 0, 0, "$t   none refused");
        is($s->{invoices}, 1, "$t   invoiced once");
        is($events->($late, 'acknowledged'), 1,
           "$t   one 'acknowledged' in its history");
        my $said = "box $late: the acknowledgement's answer was ambiguous;"
                   . " the box's lookup says still ACCEPT";
        like($gw->error_log, qr/\Q$said\E/, "$t   the lookup logged");
    }

    # the return withdrawn while the gateway restarts: the first sync after
    # notices it; no inquiry is reported again, no box processed twice

    $cp->withdraw($rid);
    $gw->stop;
    $gw->{checked} = 0;
    $gw->start(http => http($st, api => $api));

    ok(wait_for(sub {
           $st->value("SELECT COUNT(*) FROM integrations_coupang_returns"
                      . " WHERE withdrawn_at IS NOT NULL") == 1
       }, $wait), "$t restarted: the withdrawn return is noticed");
    ok(wait_for(sub { grep { /반품 철회/ } slack_texts() }, $wait),
       "$t   and alerted");
    is($calls->($boxes[0]), 1, "$t   activation_revoke was called once");

    if ($gone) {
        ok(wait_for(sub { $revoked->($gone) == 1 }, $wait),
           "$t the cancelled box: revoked by its cancellation")
            or $diag->();
        is($st->value("SELECT state FROM integrations_orders WHERE"
                      . " shipment_box_id = '$gone'"), 4,
           "$t   the order is revoked");
        is($st->value("SELECT COUNT(*) FROM integrations_activation_links"
                      . " WHERE shipment_box_id = '$gone'"
                      . " AND revoked_at IS NULL"), 0,
           "$t   its token revoked");
        ok(wait_for(sub { $calls->($gone) >= 1 }, $wait),
           "$t   activation_revoke called");
        my ($c) = grep { $_->{target} eq '/revoke'
                         && $_->{body} =~ /"shipment_box_id":"$gone"/ }
                  $app->requests;
        like($c ? $c->{body} : '', qr/"reason":"cancel"/,
             "$t   for a cancellation");
        is($fulfil->($gone), 5, "$t   still canceled for fulfilment");
        is_deeply($cp->order($gone)->{wire}, ['ack', 'lookup canceled'],
                  "$t   never looked up, acknowledged or invoiced again");
    }

    # the PR return seen again as CC, after the restart: nothing changes
    ok(wait_for(sub { ($cp->return_lists->{CC} // 0) > $cc_lists }, $wait),
       "$t CC listed again after the PR return moved there");
    is($calls->($boxes[1]), 1, "$t   activation_revoke called once for PR");
    is($calls->($two), 1, "$t   and once for CC");
    is($st->value("SELECT COUNT(*) FROM integrations_coupang_returns"
                  . " WHERE receipt_id IN ('$pr', '$cc')"), 2,
       "$t   each receipt stored once");
    is($st->value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                  . " event = 'revoked' AND shipment_box_id IN"
                  . " ('$boxes[1]', '$two')"), 2,
       "$t   one unit revoked each, once");
    my $lists = $cp->return_lists;
    ok((!grep { !$lists->{$_} } qw(CANCEL UC RU PR CC)),
       "$t   every list polled: CANCEL, UC, RU, PR, CC")
        or diag explain $lists;

    is(scalar(grep { /고객문의/ } slack_texts()), 1,
       "$t   no inquiry reported twice");
    my @key = grep { /API 키/ } slack_texts();
    is(scalar @key, 1, "$t the key's expiry alerted once a day");
    like($key[0] // q(), qr/(9|10)일/, "$t   10 days before") or diag $key[0];
    is($st->value("SELECT COUNT(*) FROM integrations_notifications WHERE"
                  . " id LIKE 'ntf_%' AND channel = 'sms'"), 4 + $more,
       "$t   one more buyer message, none twice");
    is($st->value("SELECT COUNT(*) FROM integrations_order_events WHERE"
                  . " event = 'ingest'"), 6 + $more,
       "$t   each box ingested once over overlapping windows and a restart");

    is_deeply([ $cp->problems ], [], "$t the mock found nothing wrong");

    # the staff's alerts, the buyer masked

    ok(wait_for(sub { (grep { /새 쿠팡 주문/ } slack_texts()) >= 4 }, $wait),
       "$t a Slack alert per new order");
    ok((grep { /연락처 없는/ && /\Q$nocontact\E/ } slack_texts()),
       "$t   the no_contact box alerted");
    ok((grep { /연결되지 않은/ && /\Q$unmapped\E/ } slack_texts()),
       "$t   the unmapped box alerted");
    ok(!(grep { /신\*희/ ? 0 : /신.희/ } slack_texts()),
       "$t   the buyer's name masked");
    ok(!(grep { /books\.example\.com|0503/ } slack_texts()),
       "$t   no link and no phone number in an alert");

    my @calls = grep { $_->{target} =~ /ordersheets\?/ } $cp->requests;
    ok(@calls >= 2, "$t   the list was pulled in several runs");

    # never above 10 calls in any second
    my @times = sort { $a <=> $b } map { $_->{time} }
                grep { $_->{target} =~ m{^/v2/} } $cp->requests;
    my $most = 0;
    for my $i (0 .. $#times) {
        my $n = grep { $_ >= $times[$i] && $_ < $times[$i] + 1 } @times;
        $most = $n if $n > $most;
    }
    cmp_ok($most, '<=', 10, "$t   never above 10 calls in a second");

    $gw->stop;
    $cp->stop;
    $app->stop;
});

done_testing();
