# Grants that stay pending, on SQLite and on PostgreSQL.  (1) The grant
# endpoint's circuit_breaker: after failures of the seller's endpoint the
# breaker opens, a later redeem's grant is refused without calling the
# app (the buyer sees "we are on it", the refusal counted and logged),
# and stays pending; once the breaker admits again (its retry time, not
# the grant's whole lock) the sweeper sends it.
# (2) kill -9 of the worker holding a grant (the app hangs): with no POST
# again, the sweeper sends the grant once, and the order is redeemed.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use IO::Socket::INET;

use Activation;
use Gateway;
use MockApp;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $IO = $VG ? 120 : 30;
my $TO = $VG ? '5s' : '1s';
# a grant's lock: attempts * (timeout + 2 s) + 2 * the store's timeout,
# then a sweep tick
my $BOUND = $VG ? 200 : 40;

# each backend's half has its own gateway and app (Store->each_backend)
my ($gw, $app);

sub post {
    my ($path) = @_;
    return $gw->request('POST', $path, headers => {
        'Content-Type' => 'application/x-www-form-urlencoded' },
        timeout => $IO);
}

sub wait_for { my ($f, $s) = @_; Store::wait_for($f, $s) }

sub grants_of {
    my ($o) = @_;
    return scalar grep { ($_->{json}{data}{order_id} // '') eq $o->{order_id} }
                  $app->grants;
}

sub unit_state {
    my ($st, $o) = @_;
    return join ',', map { $_ // 'null' } @{ ($st->sql("SELECT state,"
        . " grant_state FROM integrations_activations WHERE order_id ="
        . " '$o->{order_id}'"))[0] // [] };
}

# Under valgrind SQLite only: each case waits out a grant's lock (34 s
# there), and the sweep's SQL on PostgreSQL is what the plain run checks.
my @backends = Store->backends;
@backends = ($backends[0]) if $VG;

Store->each_backend(sub {
    my ($backend) = @_;
    $gw = Gateway->new(workers => 2);
    my $whsec = Activation::keys($gw);
    $app = MockApp->new(port => $gw->port('app'), secret => $whsec);
    my $st = Store->new($backend, $gw);

    my $extra = <<"CONF";
    circuit_breaker_zone zone=sellers:64k;
CONF
    my $http = Activation::http($st, attempts => 2, timeout => $TO,
                                extra => $extra);
    $http =~ s{timeout=$TO;}{timeout=$TO circuit_breaker=sellers failures=2
                     open=3s;};
    $gw->start(http => $http);

    $gw->request('GET', '/a/' . ('x' x 43), timeout => $IO);
    ok(Activation::wait_schema($gw, $st), "[$backend] the schema is made");

    # ---- (1) the breaker opens after the endpoint's failures

    $app->set_mode('down');
    my $a = Activation::order($st);
    my $r = post("/a/$a->{tokens}[0]");
    is($r->{status}, 202, "[$backend] the endpoint down: 202");
    is(grants_of($a), 2, "[$backend] two attempts reached it");

    my $b = Activation::order($st);
    my $refused_at = time;
    $r = post("/a/$b->{tokens}[0]");
    is($r->{status}, 202, "[$backend] the breaker open: the same 202");
    is(grants_of($b), 0, "[$backend] ...and the app was not called");
    is(unit_state($st, $b), '2,1', "[$backend] the grant stays pending");
    like($gw->error_log, qr/grant\ of\ order\ \Q$b->{order_id}\E\ item\ \S+\ unit\ 1
                           \ stays\ pending\ after\ 2\ attempt\(s\)
                           \ refused\ by\ activation_grant's\ limits/x,
         "[$backend] the refusal logged");
    my $m = $gw->request('GET', '/metrics', timeout => $IO)->{body};
    like($m, qr/^integrations_activation_grant_refused_total [1-9]/m,
         "[$backend] refusals counted");
    like($m, qr/^integrations_activation_grants_deferred_total [1-9]/m,
         "[$backend] the deferred grant counted");

    # its lock made to end at the breaker's retry time (open=3s)
    ok(wait_for(sub { ($st->value("SELECT grant_until FROM"
            . " integrations_activations WHERE order_id ="
            . " '$b->{order_id}'") // 9e15) / 1000 <= time + 3.5 }, $IO),
       "[$backend] its lock ends when the breaker may admit");

    $app->set_mode('healthy');
    ok(wait_for(sub { unit_state($st, $b) eq '3,2' }, $BOUND),
       "[$backend] once the breaker admits, the sweeper sends it")
        or diag(unit_state($st, $b));
    # the lock: attempts * (timeout + 2 s) + 2 * the store's timeout
    # (16 s, 34 s under valgrind); the breaker's 3 s, a sweep tick and the grant well before
    my $took = time - $refused_at;
    cmp_ok($took, '<', $VG ? 20 : 12,
           sprintf("[$backend]   after %.1f s, not its whole lock", $took));
    is(grants_of($b), 1, "[$backend] once");
    like($gw->error_log, qr/order\ \Q$b->{order_id}\E\ .*\ sent\ again\ by
                           \ the\ sweeper/x, "[$backend] the sweep logged");
    is($st->value("SELECT state FROM integrations_orders WHERE order_id ="
                  . " '$b->{order_id}'"), 3, "[$backend] the order redeemed");

    # ---- (2) kill -9 of the worker holding the grant

    $app->clear;
    $app->set_mode('hang:60');
    my $k = Activation::order($st);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'),
                                  Timeout => $IO) or die "connect: $!";
    print $s "POST /a/$k->{tokens}[0] HTTP/1.1\r\nHost: localhost\r\n"
           . "Connection: close\r\nContent-Length: 0\r\n\r\n";
    ok(wait_for(sub { grants_of($k) == 1 }, $IO),
       "[$backend] the grant reached the hanging app");

    # the worker with a connection to the app holds the grant
    my $port = $gw->port('app');
    my @holder = `ss -tnpH state established dst 127.0.0.1:$port 2>/dev/null`
                 =~ /pid=(\d+)/g;
    my $master = $gw->{pid};
    my %workers = map { $_ => 1 }
                  split ' ', `ps -o pid= --ppid $master`;
    @holder = grep { $workers{$_} } @holder;
    @holder = keys %workers unless @holder;
    ok(kill('KILL', @holder), "[$backend] kill -9 of the holder (@holder)");
    close $s;

    $app->set_mode('healthy');
    my $t0 = time;
    ok(wait_for(sub { unit_state($st, $k) eq '3,2' }, $BOUND),
       "[$backend] with no POST, the sweeper grants it")
        or diag(unit_state($st, $k));
    diag(sprintf "[$backend] swept in %.1f s", time - $t0);
    sleep($VG ? 10 : 3);
    is(grants_of($k), 2, "[$backend] the app saw it once more, once")
        or diag(grants_of($k));
    my ($id) = map { $_->{id} } $app->grants;
    is(scalar(keys %{{ map { $_->{id} => 1 } $app->grants }}), 1,
       "[$backend] with the same webhook-id");
    is($st->value("SELECT state FROM integrations_orders WHERE order_id ="
                  . " '$k->{order_id}'"), 3, "[$backend] the order redeemed");

    # the kill's own "[alert] worker process ... exited on signal 9" aside
    my @bad = grep { /\[(alert|emerg|crit)\]|Sanitizer|runtime error:/
                     && !/worker process \d+ exited on signal 9/ }
              split /\n/, $gw->error_log . $gw->read_file('stderr.log');
    ok(!@bad, "[$backend] no other alert, emerg or crit line")
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
    $gw->{checked} = 1;

    $gw->stop;
    $app->stop;
}, @backends);

done_testing();
