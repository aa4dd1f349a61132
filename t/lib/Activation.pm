package Activation;

# The activation tests' shared pieces: the http block (a store, the
# seller's app as activation_grant, activation_redirect, activation_api at
# /a/, activation_admin at /admin/), and a fixture that writes an order as
# the order sync would (migration 4's rows: the box, its item, a unit per
# link, each link's hash), straight into the store with sqlite3 / psql.
# The fixture stands in for the order sync (branch h-orders) so that the
# buyer's side and the admin API are tested on their own; the end-to-end
# test of the sync exercises the real path.

use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Time::HiRes ();

use Gateway;
use MockApp;
use MockCoupang;
use MockNotify;
use Store;

our $ADMIN_KEY = 'admin-key-0123456789abcdef';
our $CLAIM_KEY = 'claim-key-0123456789abcdef-0123456789';
our $VG = $ENV{VALGRIND} ? 1 : 0;

# the end-to-end tests' Coupang credentials and vendor (flow(), half())
our ($AK, $SECRET, $VENDOR) = ('e2e-access-key', 'e2e-secret-key',
                               'A00012345');

# The e-book flow on the real paths, for Activation::http's extra: the
# order sync against the mock Coupang (every 10 s), one mapped product,
# the buyer's message by SMS through the mock Solapi; contact =>
# activation_contact's sources, timeout => the SMS provider's.
sub flow {
    my (%o) = @_;
    my $contact = $o{contact} // 'orderer';
    my $timeout = $o{timeout} // '5s';
    return <<"CONF";
    integrations_outbound_bind  127.0.0.1;
    rate_limit_zone  \$host  zone=coupang:1m  rate=10r/s  burst=5;
    coupang_access_key       $AK;
    coupang_secret_key_file  %%DIR%%/coupang.key;
    coupang_orders  vendor_id=$VENDOR  interval=10s  window=2m  api=v4
                    rate_limit=coupang  fulfil_retry=1s
                    url=http://127.0.0.1:%%PORT:coupang%%;
    activation_product    3242596358  SOLVE-MATH-1;
    activation_contact    $contact;
    activation_link_base  http://127.0.0.1:%%PORT:gw%%/a/;
    activation_message    channel=sms;

    notify_provider sms type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=02-9302-2266 pf_id=$MockNotify::PF_ID
                    timeout=$timeout;
    notify_route sms sms;
    notify_delivery interval=100ms;
CONF
}

# One backend's half of an end-to-end test (Store->each_backend): its
# gateway (2 workers, keys written), the seller's app, the notification
# stand-ins, the store and a fresh mock Coupang.
sub half {
    my ($backend) = @_;
    my $gw = Gateway->new(workers => 2);
    my $whsec = Activation::keys($gw);
    $gw->write_file('coupang.key', "$SECRET\n");
    my $app = MockApp->new(port => $gw->port('app'), secret => $whsec);
    my $notify = MockNotify->new(gw => $gw);
    $notify->write_keys($gw);
    my $st = Store->new($backend, $gw);
    my $cp = MockCoupang->new(port => $gw->port('coupang'), access_key => $AK,
                              secret => $SECRET, vendor_id => $VENDOR);
    return ($gw, $app, $notify, $st, $cp);
}

# the grant secret, the claim key and the admin key in the gateway's dir
sub keys {
    my ($gw) = @_;
    open my $fh, '<', '/dev/urandom' or die $!;
    read $fh, my $raw, 24;
    close $fh;
    my $whsec = 'whsec_' . encode_base64($raw, '');
    $gw->write_file('grant.key', "$whsec\n");
    $gw->write_file('claim.key', $CLAIM_KEY);
    $gw->write_file('admin.keys', "# staff\n$ADMIN_KEY\n");
    return $whsec;
}

sub http {
    my ($st, %a) = @_;
    my $attempts = $a{attempts} // 3;
    my $timeout = $a{timeout} // ($VG ? '10s' : '2s');
    my $redirect = exists $a{redirect} ? $a{redirect}
        : "activation_redirect https://app.example/activate?src=coupang"
          . " secret_file=%%DIR%%/claim.key ttl=5m;";
    my $admin = !$a{admin} ? '' : <<"CONF";
        location /admin/ {
            allow 127.0.0.1;
            deny all;
            activation_admin key_file=%%DIR%%/admin.keys;
        }
        location /admin-denied/ {
            deny all;
            activation_admin key_file=%%DIR%%/admin.keys;
        }
CONF
    # valgrind slows the store's threads (connects, migrations) tenfold
    my $store = $a{store} // ($VG ? 'timeout=10s' : undef);
    return $st->directive($store) . <<"CONF" . ($a{extra} // '');
    activation_grant http://127.0.0.1:%%PORT:app%%/grants
                     secret_file=%%DIR%%/grant.key attempts=$attempts
                     timeout=$timeout;
    $redirect
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /a/ {
            activation_api;
        }
$admin
        location = /metrics {
            integrations_status;
        }
    }
CONF
}

my $ORDER = 31000000000;

sub sqlq { my ($s) = @_; return 'NULL' unless defined $s; $s =~ s/'/''/g; "'$s'" }

# An order (one box, one item) with $units units, each with a live link.
# Returns { order_id, box, item, tokens => [...], hashes => [...] }.
sub order {
    my ($st, %a) = @_;
    my $n = ++$ORDER;
    my $order = $a{order_id} // "$n";
    my $box = $a{box} // "6" . $n . "01";
    my $item = $a{item} // '70000000001';
    my $units = $a{units} // 1;
    my $now = int(Time::HiRes::time() * 1000);
    my $seen = $a{first_seen_at} // $now;
    my $expires = $a{expires_at} // ($now + 30 * 86400 * 1000);
    my $state = $a{state} // 2;                       # link_sent
    my $kind = exists $a{contact} && !defined $a{contact} ? 0
             : ($a{contact} // '') =~ /@/ ? 2 : 1;
    my $contact = exists $a{contact} ? $a{contact} : '050312345678';
    my $name = $a{item_name} // '쏠브 수학 E-book';
    my $code = $a{product_code} // 'SOLVE-MATH-1';

    my @sql;
    push @sql, "INSERT INTO integrations_orders (vendor_id, shipment_box_id,"
        . " order_id, api, coupang_status, state, contact_kind, contact,"
        . " contact_source, buyer_name, ordered_at, paid_at, first_seen_at,"
        . " items, links, unmapped, message_id, message_state, sent_at,"
        . " fulfil_state, fulfil_attempts, next_fulfil_at, created_at,"
        . " updated_at) VALUES ('A00012345', " . sqlq($box) . ", " . sqlq($order)
        . ", 5, 'ACCEPT', $state, $kind, " . sqlq($contact) . ", 'orderer',"
        . " '김*수', $seen, $seen, $seen, 1, $units, 0, NULL, 2, $seen, 3, 0,"
        . " 0, $seen, $seen)";
    push @sql, "INSERT INTO integrations_order_items (vendor_id,"
        . " shipment_box_id, vendor_item_id, order_id, product_code,"
        . " item_name, quantity, cancel_count, hold_count, links, state)"
        . " VALUES ('A00012345', " . sqlq($box) . ", " . sqlq($item) . ", "
        . sqlq($order) . ", " . sqlq($code) . ", " . sqlq($name)
        . ", $units, 0, 0, $units, $state)";

    my (@tokens, @hashes);
    for my $u (1 .. $units) {
        my ($t, $h) = MockApp::token();
        push @tokens, $t;
        push @hashes, $h;
        my $hash = $kind || $a{link_without_contact} ? sqlq($h) : 'NULL';
        push @sql, "INSERT INTO integrations_activations (vendor_id,"
            . " shipment_box_id, vendor_item_id, unit, units, order_id,"
            . " product_code, state, token_hash, grant_state,"
            . " grant_attempts, revoke_call_state, revoke_attempts,"
            . " created_at, updated_at) VALUES ('A00012345', " . sqlq($box)
            . ", " . sqlq($item) . ", $u, $units, " . sqlq($order) . ", "
            . sqlq($code) . ", $state, " . sqlq($h) . ", 0, 0, 0, 0, $now, $now)";
        push @sql, "INSERT INTO integrations_activation_links (token_hash,"
            . " vendor_id, shipment_box_id, vendor_item_id, unit,"
            . " generation, created_at, expires_at) VALUES (" . sqlq($h)
            . ", 'A00012345', " . sqlq($box) . ", " . sqlq($item) . ", $u, 1,"
            . " $now, $expires)";
    }
    $st->sql(join(";\n", @sql));

    return { order_id => $order, box => $box, item => $item,
             tokens => \@tokens, hashes => \@hashes };
}

# Waits until the gateway's store has its schema (the first connection
# migrates; under valgrind on a loaded machine that takes a while): a
# lookup of an unknown token makes the gateway connect.
sub wait_schema {
    my ($gw, $st) = @_;
    my ($unknown) = MockApp::token();
    return Store::wait_for(sub {
        $gw->request('GET', "/a/$unknown", timeout => $VG ? 60 : 10);
        defined eval { $st->value("SELECT count(*) FROM"
                                  . " integrations_activation_links") };
    }, $VG ? 240 : 20);
}

# ms since the epoch as RFC 3339 UTC
sub iso {
    my ($ms) = @_;
    my @t = gmtime(int($ms / 1000));
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900,
                   $t[4] + 1, $t[3], $t[2], $t[1], $t[0], $ms % 1000);
}

1;
