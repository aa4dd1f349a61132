# The store unavailable and back, on SQLite and PostgreSQL: the routes
# that need it answer 503 problem+json with Retry-After, nothing else is
# affected, the error log says so once per change of state, and it
# recovers by itself.  A reload with store operations in flight; an
# operation past the store's timeout; a full disk (a small tmpfs) gives
# 503 and no corruption.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $IO = $VG ? 90 : 15;
my $ROOT = $> == 0;

# each backend's half has its own gateway and stand-ins
# (Store->each_backend)
my ($gw, $mock, $stripe);

# a request written now, its answer read later
sub send_pay {
    my ($key) = @_;
    my $b = Store::pay_body($key);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'),
                                  Timeout => $IO) or die "connect: $!";
    print $s "POST /payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\nIdempotency-Key: $key\r\n"
        . "Content-Length: " . length($b) . "\r\n\r\n$b";
    return $s;
}

sub read_answer {
    my ($s) = @_;
    my $text = do { local $/; <$s> } // '';
    close $s;
    return Gateway::parse_response($text);
}

sub count_in {
    my ($text, $re) = @_;
    my @m = $text =~ /$re/g;
    return scalar @m;
}

sub problem_ok {
    my ($r, $t) = @_;
    is($r->{status}, 503, "$t: 503") or diag $r->{body};
    is($r->{headers}{'content-type'}, 'application/problem+json',
       "$t: problem+json");
    like($r->{body}, qr/"type":"urn:integrations:problem:store_unavailable"/,
         "$t: store_unavailable");
    ok(($r->{headers}{'retry-after'} // 0) >= 1, "$t: Retry-After");
}

Store->each_backend(sub {
    my ($backend) = @_;
    my $t = "[$backend]";
    $gw = Gateway->new(workers => 2);
    $mock = MockProviders->new(gw => $gw);
    $mock->write_keys($gw);
    $stripe = $mock->{stripe};

    # ---- unavailable and back --------------------------------------------

    my $st = Store->new($backend, $gw);
    my $from = length $gw->error_log;
    my $log = sub { substr($gw->error_log, $from) };

    if ($backend eq 'sqlite') {
        # a database the workers may not open, until an admin fixes it
        open my $fh, '>', $st->path or die;
        close $fh;
        chmod 0600, $st->path;
    }

    $gw->start(http => $st->payments_http(store => 'timeout=' . ($VG ? '30s'
                                                                    : '5s')));

    if ($backend eq 'postgresql') {
        is(Store::pay($gw, "up-$backend")->{status}, 201, "$t up: 201");
        $st->stop_server;
    }

    for my $i (1 .. 5) {
        my $r = Store::pay($gw, "down-$backend-$i");
        problem_ok($r, "$t down, request $i") if $i == 1 || $i == 5;
    }

    is(Store::pay($gw, undef)->{status}, 201,
       "$t down: a payment without a key is not affected");
    like($gw->get('/metrics')->{body},
         qr/^integrations_store_up\{backend="$backend"\} 0$/m,
         "$t down: integrations_store_up 0");
    is(count_in($log->(), qr/integrations_store: \S+ is unavailable/), 1,
       "$t down: logged once, not per request") or diag $log->();

    if ($backend eq 'sqlite') {
        like($log->(), qr/is owned by uid 0, the workers run as uid/,
             "$t   the master warned about the owner");
        like($log->(), qr/is unavailable.*cannot open|unable to open/,
             "$t   the log says why");
        my (undef, undef, $uid, $gid) = getpwnam($Store::USER);
        chown $uid, $gid, $st->path if $ROOT;
        chmod 0666, $st->path unless $ROOT;
    } else {
        $st->start_server;
    }

    ok(Store::wait_for(sub { Store::pay($gw, "back-$backend")->{status}
                             == 201 }),
       "$t back: it recovers by itself");
    is(Store::pay($gw, "back-$backend")->{headers}{'idempotent-replayed'},
       'true', "$t back: and keeps what it stores");
    is(count_in($log->(), qr/is available again/), 1,
       "$t back: logged once");

    # ---- a reload with operations in flight -----------------------------

    $st->hold_writes;
    my @held = map { send_pay("held-$backend-$_") } 1 .. 4;
    sleep($VG ? 3 : 0.5);           # in the store, waiting for the writer

    $gw->reload(http => $st->payments_http(store => 'timeout='
                                                 . ($VG ? '30s' : '5s')));
    $st->release_writes;

    my @answers = map { read_answer($_) } @held;
    is_deeply([map { $_->{status} } @answers], [201, 201, 201, 201],
              "$t reload: the operations in flight finish, 201 each")
        or diag join "\n", map { $_->{body} } @answers;

    for my $i (1 .. 4) {
        my $r = Store::pay($gw, "held-$backend-$i");
        is($r->{headers}{'idempotent-replayed'}, 'true',
           "$t reload: held-$i is replayed by the new workers");
        is($r->{body}, $answers[$i - 1]{body}, "$t   the same answer");
        is(Store::calls($stripe, "held-$backend-$i"), 1,
           "$t   from one provider call");
    }

    # ---- past the store's timeout -----------------------------------------

    # 3 s under valgrind: the released write must fit in it there
    $gw->reload(http => $st->payments_http(store => 'timeout='
                                                 . ($VG ? '3s' : '500ms')));
    $st->hold_writes;
    my $t0 = time;
    my $r = Store::pay($gw, "slow-$backend");
    problem_ok($r, "$t a write held past the timeout");
    ok(time - $t0 < ($VG ? 30 : 5), "$t   answered at the timeout");
    $st->release_writes;
    is(Store::calls($stripe, "slow-$backend"), 0, "$t   the provider was not called");
    ok(Store::wait_for(sub { Store::pay($gw, "slow-$backend")->{status}
                             == 201 }),
       "$t   released: the same key goes through");

    $gw->stop;
    $gw->{checked} = 0;

    # ---- a full disk ----------------------------------------------------------

    SKIP: {
        skip "$t a full disk needs root (a tmpfs mount)", 12 unless $ROOT;

        my $mnt = $gw->dir . "/disk-$backend";
        mkdir $mnt;
        system('mount', '-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs',
               $mnt) == 0 or skip "$t tmpfs cannot be mounted here", 12;

        my $small;
        if ($backend eq 'sqlite') {
            $small = Store->new('sqlite', $gw, dir => $mnt);
        } else {
            # the idempotency table on a tablespace of its own, on the
            # tmpfs (the server's WAL stays on the big disk)
            $small = Store->new('postgresql', $gw);
            my (undef, undef, $uid, $gid) = getpwnam($Store::USER);
            chown $uid, $gid, $mnt;
        }

        $gw->start(http => $small->payments_http);
        is(Store::pay($gw, "disk-$backend-0")->{status}, 201,
           "$t disk: a first payment");

        if ($backend eq 'postgresql') {
            Store::psql('postgres', "CREATE TABLESPACE small_$small->{db}"
                        . " LOCATION '$mnt'");
            $small->sql("ALTER TABLE integrations_idempotency SET TABLESPACE"
                        . " small_$small->{db}");
            $small->sql("ALTER INDEX integrations_idempotency_pkey SET"
                        . " TABLESPACE small_$small->{db}");
            $small->sql("ALTER INDEX integrations_idempotency_expires SET"
                        . " TABLESPACE small_$small->{db}");
        }

        is(Store::pay($gw, "disk-$backend-1")->{status}, 201,
           "$t disk: another, on the small disk");

        # fill it
        system("dd if=/dev/zero of=$mnt/filler bs=4k 2>/dev/null");

        my ($full, $n);
        for $n (1 .. 400) {
            $full = Store::pay($gw, "full-$backend-$n");
            last if $full->{status} != 201;
        }
        problem_ok($full, "$t disk full");

        is(Store::pay($gw, undef)->{status}, 201,
           "$t disk full: a payment without a key is not affected");

        unlink "$mnt/filler";

        ok(Store::wait_for(sub { Store::pay($gw, "after-$backend")->{status}
                                 == 201 }),
           "$t disk freed: it recovers by itself");
        my $replay = Store::pay($gw, "disk-$backend-0");
        is($replay->{headers}{'idempotent-replayed'}, 'true',
           "$t disk freed: what was stored before is still there");

        if ($backend eq 'sqlite') {
            is($small->value('PRAGMA integrity_check'), 'ok',
               "$t the database is intact");
        } else {
            ok(defined $small->value('SELECT count(*) FROM'
                                     . ' integrations_idempotency'),
               "$t the table reads back");
        }

        $gw->stop;
        $gw->{checked} = 0;

        if ($backend eq 'postgresql') {
            Store::psql('postgres', "DROP DATABASE $small->{db}");
            Store::psql('postgres', "DROP TABLESPACE small_$small->{db}");
        }

        system('umount', $mnt);
    }
});

done_testing;
