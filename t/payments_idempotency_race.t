# Requests racing the same Idempotency-Key, on SQLite and PostgreSQL:
# across the two workers of one nginx (reuseport spreads the connections),
# and across two nginx instances sharing one store (several gateway
# nodes).  Exactly one provider call per key; every other request gets
# 409 (the first still in flight) or the first answer replayed.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $IO = $VG ? 90 : 15;
my $N = $VG ? 4 : 8;            # racers per key

my $gw = Gateway->new(workers => 2);
my $mock = MockProviders->new(gw => $gw);
$mock->write_keys($gw);
my $stripe = $mock->{stripe};

# a second node: its own nginx, the same provider stand-in and store
my $gw2 = Gateway->new(workers => 2);
$gw2->{ports}{stripe} = $gw->port('stripe');
$mock->write_keys($gw2);

my $listen = '127.0.0.1:%%PORT:gw%% reuseport';

sub race {
    my ($key, @gws) = @_;
    my $body = Store::pay_body($key);

    # all of them written before any answer is read
    my @s;
    for my $i (0 .. $N - 1) {
        my $g = $gws[$i % @gws];
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $g->port('gw'),
                                      Timeout => $IO) or die "connect: $!";
        print $s "POST /payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            . "Content-Type: application/json\r\nIdempotency-Key: $key\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n$body";
        push @s, $s;
    }

    return map { my $s = $_; my $r = Gateway::parse_response(
                     do { local $/; <$s> } // ''); close $s; $r } @s;
}

sub check {
    my ($t, $key, @r) = @_;
    my @first = grep { $_->{status} == 201
                       && !$_->{headers}{'idempotent-replayed'} } @r;
    my @replays = grep { $_->{status} == 201
                         && ($_->{headers}{'idempotent-replayed'} // '')
                            eq 'true' } @r;
    my @busy = grep { $_->{status} == 409 } @r;

    is(Store::calls($stripe, $key), 1, "$t $key: one provider call");
    is(scalar @first, 1, "$t $key: one first answer");
    is(@first + @replays + @busy, scalar @r,
       "$t $key: the others 409 or a replay")
        or diag join ' ', map { $_->{status} } @r;
    ok(!grep({ $_->{body} ne $first[0]{body} } @replays),
       "$t $key: replays of the first answer") if @first;
    ok(!grep({ ($_->{headers}{'retry-after'} // '') ne '1' } @busy),
       "$t $key: 409 with Retry-After");
    return scalar @busy;
}

for my $backend (Store->backends) {
    my $t = "[$backend]";
    my $st = Store->new($backend, $gw);

    # the provider takes 50 ms: the racers overlap the first
    $stripe->set_mode('latency');

    $gw->start(http => $st->payments_http(listen => $listen));

    my $busy = 0;
    for my $k (1 .. 3) {
        $busy += check("$t two workers:", "w$k-$backend",
                       race("w$k-$backend", $gw));
    }
    ok($busy > 0, "$t two workers: some racers found the first in flight");

    # two nodes on one store

    my $st2 = $st->share($gw2);
    $gw2->start(http => $st2->payments_http(listen => $listen));

    $busy = 0;
    for my $k (1 .. 3) {
        $busy += check("$t two nodes:", "n$k-$backend",
                       race("n$k-$backend", $gw, $gw2));
    }
    ok($busy > 0, "$t two nodes: some racers found the first in flight");

    # and the key is known to both afterwards
    my $r = Store::pay($gw2, "w1-$backend");
    is($r->{headers}{'idempotent-replayed'}, 'true',
       "$t the other node replays a key the first node stored");

    $stripe->set_mode('healthy');
    $gw2->stop;
    $gw->stop;
    $gw->{checked} = 0;
    $gw2->{checked} = 0;
}

done_testing;
