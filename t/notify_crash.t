# Nothing accepted is lost, nothing sent twice where the provider does
# not deduplicate: kill -9 of the master and every worker during a burst
# of 500 (100 under valgrind; all delivered after the restart; a
# duplicate only on the provider that deduplicates, with the same key
# every time), a reload
# during a burst (every notification sent exactly once: the old workers
# finish what they hold), and on PostgreSQL a store restart during a
# burst (503 with Retry-After meanwhile, then all sent once). SQLite and
# PostgreSQL.

use strict;
use warnings;
use utf8;

use Encode qw(encode);
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

use Gateway;
use MockNotify;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $J = JSON::PP->new->utf8->canonical;
my $W = $VG ? 120 : 30;        # seconds to wait for a burst to drain
# burst sizes, in bulks of 50: smaller under valgrind, where each send
# costs twenty times the CPU
my $KEYED = $VG ? 100 : 500;   # to the provider that deduplicates
my $PLAIN = $VG ? 50 : 100;    # to the one that does not
my $BURST = $VG ? 100 : 200;   # during a reload, a store restart

sub http_conf {
    my ($st) = @_;
    # the lease outlasts a send's timeout; after the kill -9 the restart
    # waits for it to expire
    my $t = $VG ? '10s' : '2s';
    my $lease = $VG ? '15s' : '4s';
    return $st->directive . <<"CONF";
    integrations_outbound_bind 127.0.0.1;
    notify_provider keyed type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=0293022266 idempotency_header=Idempotency-Key
                    concurrency=8 timeout=$t;
    notify_provider plain type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=0293022266 concurrency=8 timeout=$t;
    notify_route sms keyed;
    notify_route sms plain;
    notify_retry attempts=10 max_age=1h base=200ms cap=1s;
    notify_delivery interval=100ms lease=$lease;
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        client_max_body_size 4m;
        location /notifications { notify_api; }
    }
CONF
}

sub bulk {
    my ($gw, $provider, $tag, $from, $to) = @_;
    my @items = map { { channel => 'sms', provider => $provider,
                        to => sprintf('0104%03d%04d', $from % 1000, $_),
                        text => "$tag $_" } } $from .. $to;
    my $r = $gw->request('POST', '/notifications/bulk',
                         body => $J->encode({ items => \@items }),
                         headers => { 'Content-Type' => 'application/json' },
                         timeout => $VG ? 60 : 10);
    return $r->{status};
}

# texts the mock received, with the keys they carried
sub received {
    my ($mock, $tag) = @_;
    my (%n, %keys);
    for ($mock->received('solapi')) {
        my $text = $_->{json}{message}{text} // next;
        next unless $text =~ /^\Q$tag\E \d+$/;
        $n{$text}++;
        $keys{$text}{$_->{header}{'idempotency-key'} // ''} = 1;
    }
    return (\%n, \%keys);
}

sub states {
    my ($st, $provider) = @_;
    my %s = map { $_->[0] => $_->[1] } $st->sql(
        "SELECT state, COUNT(*) FROM integrations_notifications"
        . " WHERE provider = '$provider' GROUP BY state");
    return \%s;
}

sub children {
    my ($pid) = @_;
    my @c = map { /(\d+)/ ? $1 : () } `pgrep -P $pid`;
    return @c;
}

Store->each_backend(sub {
    my ($backend) = @_;
    my $t = "[$backend]";

    my $gw = Gateway->new(workers => 2);
    my $mock = MockNotify->new(gw => $gw);
    $mock->write_keys($gw);
    my $st = Store->new($backend, $gw);
    $mock->{solapi}->set_mode('latency');

    $gw->start(http => http_conf($st));

    # the store answers (a first connection is slow under valgrind)
    Store::wait_for(sub {
        $gw->get('/notifications/ntf_0')->{status} == 404 });

    # kill -9 during a burst of 500 (and 100 to the provider that does
    # not deduplicate)

    my $ok = 1;
    for my $k (0 .. $KEYED / 50 - 1) {
        $ok &&= bulk($gw, 'keyed', 'crash', $k * 50 + 1, $k * 50 + 50) == 202;
    }
    $ok &&= bulk($gw, 'plain', 'once', $_ * 50 + 1, $_ * 50 + 50) == 202
        for 0 .. $PLAIN / 50 - 1;
    ok($ok, "$t a burst of $KEYED + $PLAIN accepted");

    Store::wait_for(sub {
        my ($n) = received($mock, 'crash');
        return keys %$n >= $KEYED / 5;
    }, $W);
    # the provider slows down: the kill finds sends in flight and most of
    # the burst unsent however busy the machine is
    $mock->{solapi}->set_mode('slow');

    my $master = $gw->{pid};
    my @workers = children($master);
    # stopped first, the master cannot log its workers' deaths ([alert])
    kill 'STOP', $master;
    kill 'KILL', @workers;
    kill 'KILL', $master;
    waitpid($master, 0);
    delete $gw->{pid};
    my ($before) = received($mock, 'crash');
    ok(@workers == 2 && keys %$before < $KEYED,
       "$t kill -9 of the master and its workers with "
       . ($KEYED - keys %$before) . " not yet sent");

    $mock->{solapi}->set_mode('latency');
    $gw->start(http => http_conf($st));

    ok(Store::wait_for(sub {
        my $s = states($st, 'keyed');
        return ($s->{2} // 0) == $KEYED;
    }, $W), "$t after the restart: all $KEYED sent")
        or diag explain states($st, 'keyed');

    my ($n, $keys) = received($mock, 'crash');
    is(scalar keys %$n, $KEYED, "$t   the provider got every one of them");
    my @dup = grep { $n->{$_} > 1 } keys %$n;
    my @badkey = grep { keys %{ $keys->{$_} } != 1 } keys %$n;
    is(scalar @badkey, 0, "$t   " . scalar(@dup) . " sent twice, each time"
       . " with the same key (the provider deduplicates)");

    ok(Store::wait_for(sub {
        my $s = states($st, 'plain');
        return ($s->{0} // 0) + ($s->{1} // 0) == 0;
    }, $W), "$t the other provider's $PLAIN are settled");
    my ($once) = received($mock, 'once');
    my @twice = grep { $once->{$_} > 1 } keys %$once;
    is(scalar @twice, 0, "$t   none of them sent twice");
    my $s = states($st, 'plain');
    is(($s->{2} // 0) + ($s->{5} // 0), $PLAIN,
       "$t   sent (" . ($s->{2} // 0) . ") or unknown (" . ($s->{5} // 0)
       . "): a send the crash cut off is not repeated");
    my @unk = map { $_->[0] } $st->sql("SELECT body_text FROM"
        . " integrations_notifications WHERE provider = 'plain'"
        . " AND state = 5");
    note("$t   of the unknown, " . scalar(grep { $once->{$_} } @unk)
         . " had reached the provider");

    # a reload during a burst: the old workers finish what they hold

    my $r_ok = 1;
    $r_ok &&= bulk($gw, 'plain', 'reload', $_ * 50 + 1, $_ * 50 + 50) == 202
        for 0 .. $BURST / 50 - 1;
    Store::wait_for(sub { my ($x) = received($mock, 'reload');
                          return keys %$x >= 30 }, $W);
    $gw->reload(http => http_conf($st));
    ok(Store::wait_for(sub {
        my ($x) = received($mock, 'reload');
        return keys %$x == $BURST;
    }, $W), "$t a reload during a burst of $BURST: all sent");
    my ($rl) = received($mock, 'reload');
    is(scalar(grep { $rl->{$_} > 1 } keys %$rl), 0, "$t   each once");
    ok(Store::wait_for(sub {
        $st->value("SELECT COUNT(*) FROM integrations_notifications"
                   . " WHERE body_text LIKE 'reload %' AND state = 2")
            == $BURST
    }, $W), "$t   and recorded as sent");

    # the store restarts during a burst (PostgreSQL)

    if ($backend eq 'postgresql') {
        my $p_ok = 1;
        $p_ok &&= bulk($gw, 'plain', 'pgdown', $_ * 50 + 1, $_ * 50 + 50)
                  == 202 for 0 .. $BURST / 50 - 1;
        Store::wait_for(sub { my ($x) = received($mock, 'pgdown');
                              return keys %$x >= 20 }, $W);
        $st->stop_server;
        my $r = $gw->request('POST', '/notifications',
            body => $J->encode({ channel => 'sms', to => '01012345678',
                                 text => 'while down' }),
            headers => { 'Content-Type' => 'application/json' });
        is($r->{status}, 503, "$t while the store is down: 503");
        ok($r->{headers}{'retry-after'}, "$t   with Retry-After");
        sleep 1;
        $st->start_server;
        ok(Store::wait_for(sub {
            my ($x) = received($mock, 'pgdown');
            return keys %$x == $BURST;
        }, $W), "$t after the store is back: all $BURST sent");
        my ($pg) = received($mock, 'pgdown');
        is(scalar(grep { $pg->{$_} > 1 } keys %$pg), 0, "$t   each once");
        ok(Store::wait_for(sub {
            my $z = $st->value("SELECT COUNT(*) FROM"
                . " integrations_notifications WHERE body_text LIKE"
                . " 'pgdown %' AND state IN (0, 1)");
            defined $z && $z == 0;
        }, $W), "$t   and settled in the store");
    }

    $gw->stop;
});

done_testing();
