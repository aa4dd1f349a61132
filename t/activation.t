# The buyer's side of an activation link, on SQLite and on PostgreSQL:
# GET shows the page (Korean; English by Accept-Language) and changes
# nothing; POST redeems once, calls the seller's grant endpoint (the mock
# app checks the Standard Webhooks signature with its own code) and
# redirects with a claim the app verifies; used, expired, revoked and
# unknown links each get their own page and status; a grant that fails
# is retried, then fails for good with the "we are on it" page and an
# alert; 100 concurrent POSTs of one token have exactly one winner; the
# store down gives 503 with Retry-After.  Orders come from
# t/lib/Activation.pm's fixture (the rows the order sync writes).

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);

use Activation;
use Gateway;
use MockApp;
use MockNotify;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $IO = $VG ? 60 : 10;

# each backend's half has its own gateway and stand-ins
# (Store->each_backend)
my ($gw, $app, $notify);

# staff alerts go to Slack through notify_alert
my $T = $VG ? '20s' : '5s';
my $alerts = <<"CONF";
    notify_provider ops type=slack key_file=%%DIR%%/slack.key
                    base_url=http://127.0.0.1:%%PORT:slack%% timeout=$T;
    notify_alert ops channel=#alerts;
CONF

sub get {
    my ($path, %h) = @_;
    return $gw->request('GET', $path, headers => \%h, timeout => $IO);
}

sub post {
    my ($path, %h) = @_;
    return $gw->request('POST', $path, headers => {
        'Content-Type' => 'application/x-www-form-urlencoded', %h },
        timeout => $IO);
}

sub wait_for { Store::wait_for(@_) }

Store->each_backend(sub {
    my ($backend) = @_;
    $gw = Gateway->new(workers => 2);
    my $whsec = Activation::keys($gw);
    $app = MockApp->new(port => $gw->port('app'), secret => $whsec);
    $notify = MockNotify->new(gw => $gw);
    $notify->write_keys($gw);
    my $st = Store->new($backend, $gw);
    $gw->start(http => Activation::http($st, extra => $alerts));

    # the schema is made by the first connection: a GET makes one
    my $r = get('/a/' . ('x' x 43));
    is($r->{status}, 404, "[$backend] a token that is no token: 404");
    like($r->{headers}{'content-type'}, qr{^text/html; charset=utf-8},
         "[$backend] an HTML page");
    ok(Activation::wait_schema($gw, $st), "[$backend] the schema is made");

    my $o = Activation::order($st);
    my $path = "/a/$o->{tokens}[0]";

    # ---- GET changes nothing

    $r = get($path);
    is($r->{status}, 200, "[$backend] GET of a fresh link: 200");
    like($r->{body}, qr/<form[^>]+method="post"/i, "[$backend] a POST form");
    like($r->{body}, qr/\Q$path\E/, "[$backend] posting to the same path");
    like($r->{body}, qr/쏠브 수학 E-book/, "[$backend] the product's name");
    is($r->{headers}{'content-language'}, 'ko', "[$backend] Korean");
    is($r->{headers}{vary}, 'Accept-Language', "[$backend] Vary");
    is($r->{headers}{'cache-control'}, 'no-store', "[$backend] no-store");
    is($r->{headers}{'referrer-policy'}, 'no-referrer',
       "[$backend] no referrer");
    like($r->{headers}{'content-security-policy'}, qr/default-src 'none'/,
         "[$backend] a CSP");
    is($r->{headers}{'x-robots-tag'}, 'noindex', "[$backend] noindex");

    $r = get($path, 'Accept-Language' => 'en-US,en;q=0.9,ko;q=0.5');
    is($r->{headers}{'content-language'}, 'en',
       "[$backend] English by Accept-Language");
    unlike($r->{body}, qr/[\x{3131}-\x{318e}]/, "[$backend] ...in English");
    $r = get($path, 'Accept-Language' => 'ko-KR,ko;q=0.9,en;q=0.8');
    is($r->{headers}{'content-language'}, 'ko', "[$backend] ko first: ko");

    $r = $gw->request('HEAD', $path, timeout => $IO);
    is($r->{status}, 200, "[$backend] HEAD: 200");
    is($r->{body}, '', "[$backend] ...without a body");

    for (1 .. 3) { get($path) }
    is($st->value("SELECT count(*) FROM integrations_activation_links"
                  . " WHERE used_at IS NOT NULL"), 0,
       "[$backend] GETs used nothing");
    is($st->value("SELECT state FROM integrations_activations WHERE"
                  . " order_id = '$o->{order_id}'"), 2,
       "[$backend] the unit is still link_sent");
    is(scalar(() = $app->grants), 0, "[$backend] no grant call");

    $r = $gw->request('PUT', $path, timeout => $IO);
    is($r->{status}, 405, "[$backend] PUT: 405");
    like($r->{headers}{allow} // '', qr/POST/, "[$backend] Allow");

    # ---- POST redeems

    my $t0 = time;
    $r = post($path);
    is($r->{status}, 303, "[$backend] POST: 303");
    my $loc = $r->{headers}{location} // '';
    like($loc, qr{^https://app\.example/activate\?src=coupang&claim=},
         "[$backend] to activation_redirect with a claim");
    my ($jws) = $loc =~ /claim=([^&]+)/;
    my $claims = MockApp->verify_claim($Activation::CLAIM_KEY, $jws);
    ok($claims, "[$backend] the app verifies the claim")
        or diag($loc);
    is($claims->{order_id}, $o->{order_id}, "[$backend] claim: order_id");
    is($claims->{vendor_item_id}, $o->{item}, "[$backend] claim: item");
    is($claims->{product_code}, 'SOLVE-MATH-1', "[$backend] claim: product");
    ok($claims->{exp} - $claims->{iat} <= 300, "[$backend] claim: 5 min");
    ok(!MockApp->verify_claim('another-key-0123456789abcdef0123', $jws),
       "[$backend] not with another key");

    my @g = $app->grants;
    is(scalar @g, 1, "[$backend] one grant call");
    ok($g[0]{ok}, "[$backend] its signature verifies (the app's own code)");
    is($g[0]{method} . ' ' . $g[0]{target}, 'POST /grants',
       "[$backend] POST /grants");
    like($g[0]{type} // '', qr{^application/json}, "[$backend] JSON");
    like($g[0]{id} // '', qr/^msg_[0-9a-f]{32}$/, "[$backend] webhook-id");
    is($g[0]{json}{type}, 'activation.grant', "[$backend] type");
    is($g[0]{json}{data}{order_id}, $o->{order_id}, "[$backend] order_id");
    is($g[0]{json}{data}{shipment_box_id}, $o->{box}, "[$backend] box");
    is($g[0]{json}{data}{product_code}, 'SOLVE-MATH-1', "[$backend] product");
    is($g[0]{json}{data}{contact}{value}, '050312345678',
       "[$backend] the buyer's contact");
    is($claims->{jti}, $g[0]{id}, "[$backend] claim jti = webhook-id");

    # the buyer's 303 goes before the outcome is stored
    ok(wait_for(sub { $st->value("SELECT state FROM integrations_activations"
                                 . " WHERE order_id = '$o->{order_id}'")
                      == 3 }), "[$backend] the unit is redeemed");
    ok(wait_for(sub { $st->value("SELECT state FROM integrations_orders"
                                 . " WHERE order_id = '$o->{order_id}'")
                      == 3 }), "[$backend] the order is redeemed");
    is($st->value("SELECT grant_state FROM integrations_activations WHERE"
                  . " order_id = '$o->{order_id}'"), 2,
       "[$backend] granted");
    my @ev = map { $_->[0] } $st->sql("SELECT e.event FROM"
        . " integrations_order_events e WHERE e.shipment_box_id ="
        . " '$o->{box}' ORDER BY e.id");
    is_deeply(\@ev, ['redeem', 'redeemed'], "[$backend] the history");

    # ---- used

    $r = post($path);
    is($r->{status}, 409, "[$backend] a second POST: 409");
    like($r->{headers}{'content-type'}, qr{^text/html}, "[$backend] a page");
    $r = get($path);
    is($r->{status}, 409, "[$backend] GET of a used link: 409");
    is(scalar(() = $app->grants), 1, "[$backend] still one grant");

    # ---- expired, revoked, unknown

    my $ex = Activation::order($st, expires_at => int(time * 1000) - 1000);
    $r = get("/a/$ex->{tokens}[0]");
    is($r->{status}, 410, "[$backend] an expired link: 410");
    $r = post("/a/$ex->{tokens}[0]");
    is($r->{status}, 410, "[$backend] POST of an expired link: 410");

    my $rv = Activation::order($st);
    $st->sql("UPDATE integrations_activation_links SET revoked_at = 1"
             . " WHERE token_hash = '$rv->{hashes}[0]'");
    $r = get("/a/$rv->{tokens}[0]");
    is($r->{status}, 403, "[$backend] a revoked link: 403");
    $r = post("/a/$rv->{tokens}[0]");
    is($r->{status}, 403, "[$backend] POST of a revoked link: 403");

    my ($unknown) = MockApp::token();
    $r = get("/a/$unknown");
    is($r->{status}, 404, "[$backend] an unknown token: 404");
    $r = post("/a/$unknown");
    is($r->{status}, 404, "[$backend] POST of an unknown token: 404");
    $r = get("/a/$unknown/x");
    is($r->{status}, 404, "[$backend] a second segment: 404");
    is(scalar(() = $app->grants), 1, "[$backend] no grant for any of them");

    my %pages = map { $_ => get("/a/$_")->{body} }
                $ex->{tokens}[0], $rv->{tokens}[0], $unknown;
    is(scalar(keys %{{ map { $_ => 1 } values %pages }}), 3,
       "[$backend] each state its own page");

    # ---- the grant fails, then succeeds: retried with the same id

    $app->clear;
    $app->set_mode('fail:2');
    my $f = Activation::order($st);
    $r = post("/a/$f->{tokens}[0]");
    is($r->{status}, 303, "[$backend] 503 twice, then 200: 303");
    @g = $app->grants;
    is(scalar @g, 3, "[$backend] three calls");
    is(scalar(keys %{{ map { $_->{id} => 1 } @g }}), 1,
       "[$backend] with one webhook-id");
    is(scalar(grep { $_->{ok} } @g), 3, "[$backend] each signed");
    is($st->value("SELECT grant_attempts FROM integrations_activations"
                  . " WHERE order_id = '$f->{order_id}'"), 1,
       "[$backend] one grant taken");

    # ---- the grant fails for good: "we are on it", an alert

    $app->clear;
    $app->set_mode('reject');
    my $bad = Activation::order($st);
    $r = post("/a/$bad->{tokens}[0]");
    is($r->{status}, 202, "[$backend] a grant refused: 202");
    like($r->{headers}{'content-type'}, qr{^text/html}, "[$backend] a page");
    is(scalar(() = $app->grants), 1, "[$backend] a 400 is not retried");
    my $alert = qr/activation alert: the grant of order \Q$bad->{order_id}\E/;
    ok(wait_for(sub { $gw->error_log =~ $alert }), "[$backend] an alert")
        or diag(join "\n", grep { /activation/ } split /\n/, $gw->error_log);
    unlike($gw->error_log, qr/050312345678/,
           "[$backend] the buyer's number is not in the log");
    my @slack;
    ok(wait_for(sub { @slack = grep { ($_->{json}{text} // '')
                                      =~ /\Q$bad->{order_id}\E/ }
                               $notify->received('slack');
                      @slack }), "[$backend] the staff's Slack alert");
    is($slack[0]{json}{channel}, 'alerts', "[$backend] to #alerts");
    like($slack[0]{json}{text} // '', qr/050\*+5678/,
         "[$backend] the buyer masked in it");
    unlike($slack[0]{body}, qr/050312345678/,
           "[$backend] never in clear");
    ok(wait_for(sub { $st->value("SELECT state FROM integrations_activations"
                                 . " WHERE order_id = '$bad->{order_id}'")
                      == 5 }), "[$backend] the unit failed");
    is($st->value("SELECT grant_state FROM integrations_activations WHERE"
                  . " order_id = '$bad->{order_id}'"), 3,
       "[$backend] grant failed");
    is($st->value("SELECT state FROM integrations_orders WHERE order_id ="
                  . " '$bad->{order_id}'"), 5, "[$backend] the order failed");
    $r = get("/a/$bad->{tokens}[0]");
    is($r->{status}, 202, "[$backend] its link shows \"we are on it\"");

    $app->clear;
    $app->set_mode('down');
    my $down = Activation::order($st);
    $r = post("/a/$down->{tokens}[0]");
    is($r->{status}, 202, "[$backend] 503 on every attempt: 202");
    is(scalar(() = $app->grants), 3, "[$backend] after 3 attempts");

    # ---- a link whose message the outbox gave up on reached the buyer

    $app->clear;
    $app->set_mode('healthy');
    my $sf = Activation::order($st, state => 5);
    $r = post("/a/$sf->{tokens}[0]");
    is($r->{status}, 303, "[$backend] the message 'failed', the link works");
    ok(wait_for(sub { $st->value("SELECT state FROM integrations_activations"
                                 . " WHERE order_id = '$sf->{order_id}'")
                      == 3 }), "[$backend] ...redeemed");

    # ---- 100 concurrent redeems of one token: one winner

    $app->clear;
    $app->set_mode('healthy');
    my $c = Activation::order($st);
    my $cp = "/a/$c->{tokens}[0]";
    my $req = "POST $cp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . "Content-Length: 0\r\n\r\n";
    my (@socks, %status);
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:'
                                      . $gw->port('gw'), Timeout => $IO)
            or die "connect: $!";
        push @socks, $s;
    }
    # every request on the wire before any answer is read
    print $_ $req for @socks;
    for my $s (@socks) {
        local $/;
        my $resp = <$s> // '';
        my ($code) = $resp =~ m{^HTTP/1\.1 (\d+)};
        $status{$code // 0}++;
        close $s;
    }
    is($status{303} // 0, 1, "[$backend] 100 concurrent POSTs: one 303");
    is($status{409} // 0, 99, "[$backend] ...and 99 409s")
        or diag(explain(\%status));
    is(scalar(() = $app->grants), 1, "[$backend] one grant call");

    # ---- metrics

    $r = get('/metrics');
    like($r->{body}, qr/^integrations_activation_redeems_total \d+/m,
         "[$backend] redeems counted");
    like($r->{body}, qr/^integrations_activation_grant_failures_total [1-9]/m,
         "[$backend] failures counted");

    # ---- the store down: 503 with Retry-After

    if ($backend eq 'postgresql') {
        my $s = Activation::order($st);
        $st->stop_server;
        $r = get("/a/$s->{tokens}[0]");
        is($r->{status}, 503, "[$backend] store down: GET 503");
        ok($r->{headers}{'retry-after'}, "[$backend] with Retry-After");
        $r = post("/a/$s->{tokens}[0]");
        is($r->{status}, 503, "[$backend] store down: POST 503");
        $st->start_server;
        ok(wait_for(sub { get("/a/$s->{tokens}[0]")->{status} == 200 }),
           "[$backend] back when the store is");
    }

    $gw->stop;
    $app->stop;
});

done_testing();
