# The outbound client's sockets: a call that ends while curl is still
# connecting (its client gives up, curl's connect timeout, a refused
# connect) or while it waits for the answer must release curl's socket
# exactly once and in the order nginx needs: no epoll_ctl() on a closed
# descriptor ("[alert] epoll_ctl(2, N) failed (9: Bad file descriptor)"),
# and no descriptor left behind.
#
# The payments API drives the calls: it is the content handler that calls
# out.  A provider's base_url points at
#   - a listener whose accept queue is full: the kernel drops the SYN and
#     the connect stays pending (stripe: connect_timeout=5s, 40s under
#     valgrind; toss: 200ms);
#   - a port nobody listens on (coinbase): the connect is refused;
#   - the Square mock, healthy (a finished call, its connection cached for
#     reuse by curl) or slow (a call cancelled after its connect).
# Then 500 calls of those kinds must leave the workers with no more open
# descriptors than before, and a reload and a fast shutdown with calls in
# flight must end them cleanly too.  Last, happy eyeballs: curl connects
# to an IPv6 and an IPv4 address at once and closes the loser while it is
# still connecting, on every call that succeeds.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR inet_aton
              pack_sockaddr_in unpack_sockaddr_in);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $J = JSON::PP->new->canonical;

# the happy eyeballs part, in a process of its own (see the end)
if (@ARGV == 2 && $ARGV[0] eq '--happy-eyeballs') {
    happy_eyeballs($ARGV[1]);
    exit;
}

my $gw = Gateway->new(workers => 2);
my $mock = MockProviders->new(gw => $gw);
$mock->write_keys($gw);

# Listeners with backlog 0 that never accept: once one connection sits
# in the accept queue, every further SYN is dropped and a connect stays
# pending until its timeout.  One for Stripe's calls, one for Toss's.

my (@full, %filler);

sub full_listener {
    socket(my $l, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($l, SOL_SOCKET, SO_REUSEADDR, 1) or die "setsockopt: $!";
    bind($l, pack_sockaddr_in(0, inet_aton('127.0.0.1'))) or die "bind: $!";
    listen($l, 0) or die "listen: $!";
    my ($port) = unpack_sockaddr_in(getsockname($l));
    push @full, $l;
    for (1 .. 3) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Blocking => 0) or next;
        $filler{$s->sockport} = $s;
    }
    return $port;
}

my $full_port = full_listener();
my $full_port2 = full_listener();

ok(connect_pending($full_port), 'a connect to a full listener stays pending');

my $refused_port = Gateway::free_port();

my $CANCEL_WAIT = $VG ? 60 : 15;

# Stripe's connects must all still be pending when the test counts them:
# under valgrind ten calls take longer than 5 s to reach curl
my $PENDING_CONNECT = $VG ? '40s' : '5s';

$gw->start(http => <<"CONF");
    payment_provider stripe   key_file=%%DIR%%/stripe.key
                              base_url=http://127.0.0.1:$full_port
                              connect_timeout=$PENDING_CONNECT timeout=60s;
    payment_provider toss     key_file=%%DIR%%/toss.key
                              base_url=http://127.0.0.1:$full_port2
                              connect_timeout=200ms;
    payment_provider square   key_file=%%DIR%%/square.key
                              base_url=http://127.0.0.1:%%PORT:square%%
                              currencies=USD methods=card;
    payment_provider coinbase key_file=%%DIR%%/coinbase.key
                              base_url=http://127.0.0.1:$refused_port
                              connect_timeout=2s;

    server {
        listen 127.0.0.1:%%PORT:gw%% backlog=1024;

        location /payments {
            payment_api;
        }
    }
CONF

my $n = 0;

my %ORDER = (
    stripe => sub { { amount => 1050, currency => 'USD', provider => 'stripe',
                      order_id => "st-$_[0]", source => 'pm_card_visa' } },
    toss => sub { { amount => 15000, currency => 'KRW', provider => 'toss',
                    order_id => "toss-order-$_[0]",
                    payment_key => "tgen_$_[0]" } },
    square => sub { { amount => 1050, currency => 'USD', provider => 'square',
                      order_id => "sq-$_[0]",
                      source => 'cnon:card-nonce-ok' } },
    coinbase => sub { { amount => 1050, currency => 'USD',
                        provider => 'coinbase', order_id => "cb-$_[0]" } },
);

# sends a payment request for the provider, returns the open socket
sub send_call {
    my ($provider) = @_;
    my $order = $ORDER{$provider}->(++$n);
    my $body = $J->encode({ customer_id => "cus-$n",
                            description => 'outbound.t', %$order });
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'),
                                  Timeout => 10) or die "connect: $!";
    binmode $s;
    print $s "POST /payments HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";
    return $s;
}

# reads the whole response from a socket send_call() opened
sub response {
    my ($s) = @_;
    local $/;
    my $deadline = time + ($VG ? 60 : 20);
    my $text = '';
    $s->blocking(0);
    while (time < $deadline) {
        my $rin = '';
        vec($rin, fileno($s), 1) = 1;
        select($rin, undef, undef, 0.1) or next;
        my $got = sysread($s, my $buf, 65536);
        last if !$got;
        $text .= $buf;
    }
    close $s;
    return Gateway::parse_response($text);
}

sub count_log {
    my ($re) = @_;
    return scalar(() = $gw->error_log =~ /$re/g);
}

sub alerts { count_log(qr/\[alert\]/) }

# the [alert] lines since the log had $since of them
sub new_alerts {
    my ($since) = @_;
    my @a = grep { /\[alert\]/ } split /\n/, $gw->error_log;
    return @a[$since .. $#a];
}

sub no_alert_since {
    my ($since, $name) = @_;
    my @a = new_alerts($since);
    is(scalar @a, 0, "$name: no [alert]")
        or diag(join "\n", @a[0 .. ($#a < 4 ? $#a : 4)]);
}

sub cancelled {
    my ($provider) = @_;
    return count_log(
        qr/outbound: \Q$provider\E call cancelled, the client is gone/);
}

# waits until the log shows $want cancellations of $provider's calls
sub wait_cancelled {
    my ($provider, $want) = @_;
    my $deadline = time + $CANCEL_WAIT;
    while (cancelled($provider) < $want && time < $deadline) {
        sleep 0.05;
    }
    return cancelled($provider);
}

sub worker_pids {
    my $master = $gw->{pid};
    my @pids;
    opendir my $dh, '/proc' or die "/proc: $!";
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh> // '';
        my ($ppid) = $stat =~ /^\d+ \(.*\) \S (\d+)/s or next;
        push @pids, $pid if $ppid == $master;
    }
    return sort @pids;
}

# descriptors open in all workers
sub worker_fds {
    my $count = 0;
    for my $pid (worker_pids()) {
        opendir my $dh, "/proc/$pid/fd" or next;
        $count += grep { /^\d+$/ } readdir $dh;
    }
    return $count;
}

# connects from nginx to the port still pending (SYN_SENT)
sub connecting {
    my ($port) = @_;
    my $hex = sprintf('0100007F:%04X', $port);
    my $count = 0;
    open my $fh, '<', '/proc/net/tcp' or die "/proc/net/tcp: $!";
    while (<$fh>) {
        my (undef, $local, $remote, $st) = split ' ';
        next unless $remote eq $hex && $st eq '02';
        my ($lport) = $local =~ /:([0-9A-F]{4})$/;
        $count++ unless $filler{hex $lport};
    }
    return $count;
}

# waits until $cond->() is true, for a while
sub wait_for {
    my ($cond) = @_;
    my $deadline = time + ($VG ? 60 : 15);
    sleep 0.05 until $cond->() || time > $deadline;
    return $cond->();
}

# the calls of these clients are in flight: their connects pending, or
# their requests at the (slow) mock
sub in_flight {
    my ($provider, $clients, $seen) = @_;
    return wait_for(sub { connecting($full_port) >= $clients })
        if $provider eq 'stripe';
    return wait_for(sub {
        my $got = () = $mock->{$provider}->requests;
        return $got >= $seen + $clients;
    });
}

# clients that send a call each and go away $wait seconds after all the
# calls are in flight
sub give_up {
    my ($provider, $clients, $wait) = @_;
    my $seen = () = $mock->{square}->requests;
    my @s = map { send_call($provider) } 1 .. $clients;
    ok(in_flight($provider, $clients, $seen),
       "$clients $provider calls in flight");
    sleep $wait;
    close $_ for @s;
}

ok(wait_for(sub { my @p = worker_pids(); @p == 2 }), 'two workers');

# 1. a connect that stays pending, its client gone after 1 s

{
    my $a0 = alerts();
    my $before = cancelled('stripe');
    give_up('stripe', 10, 1);
    is(wait_cancelled('stripe', $before + 10), $before + 10,
       'pending connect: 10 calls cancelled by their clients');
    no_alert_since($a0, 'pending connect, client gone');
}

# the same, timed out by curl's connect timeout, and refused

{
    my $a0 = alerts();
    my @s = map { send_call('toss') } 1 .. 10;
    my @st = map { response($_)->{status} } @s;
    is(scalar(grep { $_ == 504 || $_ == 502 } @st), 10,
       'connect timeout: 502 or 504') or diag "@st";
    no_alert_since($a0, 'connect timed out by curl');

    $a0 = alerts();
    @s = map { send_call('coinbase') } 1 .. 10;
    @st = map { response($_)->{status} } @s;
    is(scalar(grep { $_ == 502 } @st), 10, 'connect refused: 502')
        or diag "@st";

    no_alert_since($a0, 'connect refused');
}

# 2. a slow provider, 40 clients gone after 0.5 s

{
    my $a0 = alerts();
    $mock->{square}->set_mode('slow');
    my $before = cancelled('square');
    give_up('square', 40, 0.5);
    is(wait_cancelled('square', $before + 40), $before + 40,
       'slow provider: 40 calls cancelled by their clients');
    no_alert_since($a0, 'slow provider, 40 clients gone');
    $mock->{square}->set_mode('healthy');
}

# 3. no descriptor left behind over 500 calls of every kind: cancelled
# while connecting, timed out and refused by curl, finished (their
# connections cached and reused by curl)

sub round {
    my $before = cancelled('stripe');
    my @pending = map { send_call('stripe') } 1 .. 20;
    my @timeout = map { send_call('toss') } 1 .. 10;
    my @refused = map { send_call('coinbase') } 1 .. 10;
    wait_for(sub { connecting($full_port) >= 20 });
    close $_ for @pending;
    response($_) for @timeout, @refused;
    my $ok = 0;
    for (1 .. 10) {                   # one at a time: one cached connection
        $ok++ if response(send_call('square'))->{status} == 201;
    }
    wait_cancelled('stripe', $before + 20);
    return $ok;
}

{
    my $a0 = alerts();
    round();                          # warm: curl's cache, nginx's pools
    my $fds = worker_fds();
    my $ok = 0;
    $ok += round() for 1 .. 10;
    is($ok, 100, '100 finished calls answered 201');
    my $grown = worker_fds() - $fds;
    cmp_ok($grown, '<=', 4, "500 calls: workers' descriptors grew by $grown");
    no_alert_since($a0, '500 calls');
}

# 4. worker exit with calls in flight.  A reload: the old workers keep
# their calls, and exit when the clients give up.  A fast shutdown: the
# workers end their calls themselves.

{
    my $a0 = alerts();
    my $before = cancelled('stripe');
    my @s = map { send_call('stripe') } 1 .. 10;
    ok(in_flight('stripe', 10), 'reload: 10 calls in flight');
    my @old = worker_pids();
    $gw->reload;
    ok(kill(0, @old) >= 1, 'reload: an old worker waits for its calls');
    close $_ for @s;
    is(wait_cancelled('stripe', $before + 10), $before + 10,
       'reload: 10 calls in the old workers cancelled by their clients');
    my $deadline = time + ($VG ? 60 : 10);
    sleep 0.05 while kill(0, @old) && time < $deadline;
    is(kill(0, @old), 0, 'reload: the old workers exited');
    no_alert_since($a0, 'reload with calls in flight');

    @s = map { send_call('stripe') } 1 .. 10;
    ok(in_flight('stripe', 10), 'fast shutdown: 10 calls in flight');
    # not $gw->stop: its SIGQUIT could reach the workers first, and nginx
    # alerts on every connection open at an exit that began graceful
    my $master = delete $gw->{pid};
    kill 'TERM', $master;
    $deadline = time + ($VG ? 60 : 10);
    sleep 0.05 while waitpid($master, WNOHANG) != $master && time < $deadline;
    ok(!kill(0, $master), 'fast shutdown: nginx exited');
    $gw->check_logs;
    close $_ for @s;
    is(count_log(qr/stripe call cancelled, the worker is exiting/), 10,
       'fast shutdown: the workers ended their 10 calls');
    no_alert_since($a0, 'fast shutdown with calls in flight');
}

# 5. happy eyeballs: a name with an IPv6 and an IPv4 address; curl
# connects to both, the IPv6 connect stays pending, the IPv4 one wins and
# the loser is closed while connecting, on every call.  Such a name is
# localhost where /etc/hosts says so; elsewhere, as root, a private mount
# namespace gets an /etc/hosts of its own for a copy of this test.

SKIP: {
    my ($name, @wrap) = dual_stack_name();
    skip 'no name with both ::1 and 127.0.0.1, and no unshare -m', 1
        unless $name;

    my @lib = map { "-I$_" } grep { !ref } @INC;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec @wrap, $^X, @lib, $0, '--happy-eyeballs', $name or exit 127;
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    skip $1, 1 if $? == 0 && $out =~ /^SKIP (.*)$/m;
    ok($? == 0, "happy eyeballs to $name: every call answered, no [alert]")
        or diag $out;
}

done_testing;

# a name for ::1 and 127.0.0.1, and the command that makes it resolve so
sub dual_stack_name {
    my ($err, @ai) = Socket::getaddrinfo('localhost', '80',
                                         { socktype => SOCK_STREAM });
    my %family = map { $_->{family} => 1 } @ai;
    return ('localhost') if !$err && $family{Socket::AF_INET6()}
                            && $family{Socket::AF_INET()};

    return () if $> != 0 || system('unshare -m true 2>/dev/null') != 0;

    my $hosts = $gw->write_file('hosts',
        "::1 outbound-he.test\n127.0.0.1 outbound-he.test\n", 0644);
    return ('outbound-he.test', 'unshare', '-m', 'sh', '-c',
            'mount --bind "$0" /etc/hosts && exec "$@"', $hosts);
}

# A copy of this test, where $name resolves to ::1 and 127.0.0.1: the
# Stripe mock on 127.0.0.1, a full listener on the same port of ::1.
sub happy_eyeballs {
    my ($name) = @_;

    my $he = Gateway->new(workers => 1);
    my $m = MockProviders->new(gw => $he);
    $m->write_keys($he);
    my $port = $he->port('stripe');

    socket(my $l6, Socket::AF_INET6(), SOCK_STREAM, 0)
        or do { print "SKIP no IPv6 socket: $!\n"; return };
    bind($l6, Socket::pack_sockaddr_in6($port,
                                        Socket::inet_pton(Socket::AF_INET6(),
                                                          '::1')))
        or do { print "SKIP cannot bind [::1]:$port: $!\n"; return };
    listen($l6, 0) or die "listen: $!";
    my @fill;
    for (1 .. 3) {
        socket(my $f, Socket::AF_INET6(), SOCK_STREAM, 0) or die;
        $f->blocking(0);
        connect($f, getsockname($l6));
        push @fill, $f;
    }

    $he->start(http => <<"CONF");
    payment_provider stripe   key_file=%%DIR%%/stripe.key
                              base_url=http://$name:$port
                              connect_timeout=5s;
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /payments {
            payment_api;
        }
    }
CONF

    # at once, so that each call connects: none finds a cached connection

    my @s;
    for my $i (1 .. 5) {
        my $body = $J->encode({ amount => 1050, currency => 'USD',
                                provider => 'stripe', order_id => "he-$i",
                                customer_id => 'c', description => 'he' });
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:'
                                      . $he->port('gw')) or die "$!";
        print $s "POST /payments HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\nContent-Type: application/json\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n$body";
        push @s, $s;
    }

    for my $i (1 .. 5) {
        my $r = response($s[$i - 1]);
        is($r->{status}, 201, "call $i over the IPv4 winner")
            or diag $r->{body};
    }

    my @alerts = grep { /\[alert\]/ } split /\n/, $he->error_log;
    is(scalar @alerts, 0, 'no [alert]')
        or diag(join "\n", @alerts[0 .. ($#alerts < 2 ? $#alerts : 2)]);
    $he->stop;
    done_testing;
}

# true if a non-blocking connect to the port is not done within 0.3 s
sub connect_pending {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Blocking => 0) or return 0;
    my $win = '';
    vec($win, fileno($s), 1) = 1;
    my $ready = select(undef, $win, undef, 0.3);
    close $s;
    return $ready == 0;
}
