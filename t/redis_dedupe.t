# webhook_dedupe_zone scope=cluster on one gateway and a real redis-server
# (t/cluster.t has the several nodes): the marks are Redis's; a copy in
# flight gets 409, a delivered one 200 "replayed", a failed one's retry goes
# through; a provider that hangs up while Redis decides leaves no mark in
# flight; Redis down: on_error=local uses the node's marks, the default
# (reject) answers 503 with Retry-After.  The directive's errors.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use Gateway;
use MockServer;
use Redis;

my $VG = $ENV{VALGRIND};
my $KEY = 'whsec_redis_dedupe_secret';

my $rd = Redis->new;
my $gw = Gateway->new(workers => 2);
$gw->write_file('stripe.key', "$KEY\n");

my $up = MockServer->new(port => $gw->port('up'), handler => sub {
    my ($req) = @_;
    my $body = $req->{body} // '';
    sleep($VG ? 4 : 1) if $body =~ /"slow"/;
    return (500, {}, "no\n") if $body =~ /"fail"/;
    return (200, {}, "ok\n");
});

$gw->start(http => <<"CONF");
    integrations_redis  @{[ $rd->url ]}  timeout=@{[ $VG ? 2000 : 300 ]}ms;

    webhook_dedupe_zone  zone=strict:1m  scope=cluster;
    webhook_dedupe_zone  zone=lenient:1m  scope=cluster on_error=local
                         ttl=1h;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /strict {
            webhook_verify stripe secret_file=%%DIR%%/stripe.key
                           dedupe=strict;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location /lenient {
            webhook_verify stripe secret_file=%%DIR%%/stripe.key
                           dedupe=lenient;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
    }
CONF

sub raw_delivery {
    my ($path, $id, $type) = @_;
    my $body = qq({"id":"$id","object":"event","type":"$type"});
    my $t = int time;
    my $sig = hmac_sha256_hex("$t.$body", $KEY);
    return "POST $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
         . "Content-Type: application/json\r\nStripe-Signature: t=$t,v1=$sig\r\n"
         . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
}

sub deliver {
    my ($path, $id, $type) = @_;
    return $gw->raw(raw_delivery($path, $id, $type // 'invoice.paid'),
                    timeout => 20);
}

sub seen {
    my ($id) = @_;
    return scalar grep { ($_->{body} // '') =~ /"\Q$id\E"/ } $up->requests;
}

sub mark { $rd->cli('GET', "integrations:dd:$_[0]:stripe:$_[1]") // '' }

{
    is(deliver('/strict', 'evt_1')->{body}, "ok\n", 'a delivery passes');
    is(mark('strict', 'evt_1'), 'd', 'its mark in Redis: delivered');
    my $ttl = $rd->cli('PTTL', 'integrations:dd:strict:stripe:evt_1');
    ok($ttl > 86_000_000, "kept for the zone's ttl, 24h ($ttl ms)");
    is(deliver('/strict', 'evt_1')->{body}, qq({"status":"replayed"}\n),
       'a copy: replayed');
    is(seen('evt_1'), 1, 'the upstream saw it once');

    is(deliver('/strict', 'evt_2', 'fail')->{status}, 500,
       'a delivery the upstream fails');
    is(mark('strict', 'evt_2'), '', 'its mark is removed');
    is(deliver('/strict', 'evt_2', 'fail')->{status}, 500,
       'so the retry reaches the upstream');
}

{
    my $dir = $gw->dir;
    my $pid = fork() // die;
    if ($pid == 0) {
        deliver('/strict', 'evt_3', 'slow');
        POSIX::_exit(0);
    }
    my $t0 = time;
    sleep 0.05 until mark('strict', 'evt_3') =~ /^f/ || time - $t0 > 10;
    like(mark('strict', 'evt_3'), qr/^f[0-9a-f]{32}$/,
         'in flight: the mark names its owner');
    my $r = deliver('/strict', 'evt_3', 'slow');
    is($r->{status}, 409, 'a concurrent copy: 409');
    waitpid($pid, 0);
    is(mark('strict', 'evt_3'), 'd', 'then delivered');
}

# the provider hangs up while Redis decides (paused): the delivery is
# settled all the same, never left in flight

{
    $rd->pause;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
        or die "connect: $!";
    print $s raw_delivery('/lenient', 'evt_4', 'invoice.paid');
    sleep 0.05;
    close $s;
    $rd->resume;

    my $t0 = time;
    sleep 0.05 until time - $t0 > ($VG ? 10 : 3)
                     || (mark('lenient', 'evt_4') eq ''
                         && deliver('/lenient', 'evt_4')->{body} eq "ok\n");
    is(mark('lenient', 'evt_4'), 'd',
       'a delivery whose provider hung up while Redis decided is settled');
    is(seen('evt_4'), 1, '... delivered once');
}

# Redis down

{
    $rd->kill;

    my $r = deliver('/strict', 'evt_5');
    is($r->{status}, 503, 'Redis down, on_error=reject (default): 503');
    is($r->{headers}{'retry-after'}, 10, 'with Retry-After');
    like($r->{body}, qr/webhook_dedupe_unavailable/, 'the problem type says why');
    is(seen('evt_5'), 0, 'not passed on');

    is(deliver('/lenient', 'evt_6')->{body}, "ok\n",
       'on_error=local: passes on the node\'s marks');
    is(deliver('/lenient', 'evt_6')->{body}, qq({"status":"replayed"}\n),
       'and a copy on this node is still caught');

    $rd->start;
    my $t0 = time;
    sleep 0.1 until deliver('/strict', 'evt_5')->{status} == 200
                    || time - $t0 > 5;
    is(seen('evt_5'), 1, 'Redis back: the retry is delivered, once');
}

$gw->stop;

{
    my $g = Gateway->new;
    my $srv = "server { listen 127.0.0.1:%%PORT:gw%%;\n"
            . "location / { webhook_verify github secret_file=%%DIR%%/k "
            . "dedupe=d; } }\n";
    $g->write_file('k', "secret\n");
    my ($ok, $out) = $g->test_config(http =>
        "webhook_dedupe_zone zone=d:1m scope=cluster;\n$srv");
    ok(!$ok, 'scope=cluster without integrations_redis: refused');
    like($out, qr/webhook_dedupe_zone "d" is scope=cluster: "integrations_redis" is not set/,
         '... saying so');

    ($ok, $out) = $g->test_config(http =>
        "webhook_dedupe_zone zone=d:1m on_error=local;\n$srv");
    ok(!$ok, 'on_error without scope=cluster: refused');
    like($out, qr/"on_error" needs "scope=cluster"/, '... saying so');

    ($ok, $out) = $g->test_config(http =>
        "webhook_dedupe_zone zone=d:1m scope=cluster on_error=maybe;\n$srv");
    like($out, qr/invalid parameter "on_error=maybe"/, 'a bad on_error');

    ($ok, $out) = $g->test_config(http => "integrations_redis "
        . $rd->url . ";\nwebhook_dedupe_zone zone=d:1m scope=cluster;\n$srv");
    ok($ok, 'with integrations_redis: accepted') or diag $out;
}

done_testing();
