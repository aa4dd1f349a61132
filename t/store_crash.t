# Crash safety, on SQLite and PostgreSQL: a stream of idempotent payments
# while a worker is killed with SIGKILL, then the master (and what is left
# of its workers, as a power cut would).  After a restart every request
# that was answered has its record (the same answer is replayed) and no
# provider call was repeated for any of them.

use strict;
use warnings;

use Test::More;
use MIME::Base64;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;

my $gw = Gateway->new(workers => 2);
my $mock = MockProviders->new(gw => $gw);
$mock->write_keys($gw);
my $stripe = $mock->{stripe};

my @STEPS = $VG ? (6, 12, 18) : (20, 40, 60);

sub answered {
    my ($backend) = @_;
    my %a;
    for my $f (glob $gw->dir . "/answered-$backend-*") {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            chomp;
            my ($key, $body) = split /\t/, $_, 2;
            $a{$key} = decode_base64($body) if defined $body;
        }
    }
    return \%a;
}

sub wait_answered {
    my ($backend, $n) = @_;
    return Store::wait_for(sub { keys %{ answered($backend) } >= $n },
                           $VG ? 180 : 30);
}

# a client that pays with a new key each time and writes down what was
# answered 201, until told to stop
sub stream {
    my ($backend, $id) = @_;
    my $parent = $$;
    my $pid = fork() // die "fork: $!";
    return $pid if $pid;

    # a test that dies leaves no client behind
    my $file = $gw->dir . "/answered-$backend-$id";
    for (my $i = 1; !-e $gw->dir . "/stop-$backend" && getppid() == $parent;
         $i++)
    {
        my $key = "c-$backend-$id-$i";
        my $r = eval { Store::pay($gw, $key) };
        if ($r && $r->{status} == 201) {
            open my $fh, '>>', $file or die;
            print $fh "$key\t", encode_base64($r->{body}, ''), "\n";
            close $fh;
        } elsif (!$r) {
            sleep 0.05;            # nginx is down: try the next key soon
        }
    }
    POSIX::_exit(0);
}

# the processes that hold a listening socket on the port (what a power
# cut would leave nothing of): from /proc/net/tcp and /proc/*/fd
sub listeners {
    my ($port) = @_;
    my %inodes;
    open my $fh, '<', '/proc/net/tcp' or return ();
    while (<$fh>) {
        my @f = split;
        next unless @f > 9 && $f[3] eq '0A';
        my ($p) = $f[1] =~ /:([0-9A-F]+)$/ or next;
        $inodes{$f[9]} = 1 if hex($p) == $port;
    }
    close $fh;
    my %pids;
    for my $fd (glob '/proc/[0-9]*/fd/*') {
        my $l = readlink $fd // next;
        next unless $l =~ /^socket:\[(\d+)\]$/ && $inodes{$1};
        my ($pid) = $fd =~ m{^/proc/(\d+)/};
        $pids{$pid} = 1;
    }
    return keys %pids;
}

sub workers {
    my ($master) = @_;
    return grep { $_ } map { /(\d+)/ ? $1 : () } `pgrep -P $master`;
}

for my $backend (Store->backends) {
    my $t = "[$backend]";
    my $st = Store->new($backend, $gw);
    my $conf = $st->payments_http;

    $gw->start(http => $conf);

    my @clients = map { stream($backend, $_) } 1 .. 2;

    ok(wait_answered($backend, $STEPS[0]), "$t the stream is answered");

    # a worker, killed mid-stream; the master starts another

    my $master = $gw->{pid};
    my ($victim) = workers($master);
    kill 'KILL', $victim;
    ok(wait_answered($backend, $STEPS[1]),
       "$t a worker killed with SIGKILL: the stream goes on");

    # the master and its workers, all at once

    # (stopped first, so that it cannot start a worker meanwhile)
    kill 'STOP', $master;
    my @rest = workers($master);
    kill 'KILL', $master, @rest;
    waitpid($master, 0);
    delete $gw->{pid};

    # a process with threads in a system call takes a moment to be gone,
    # and its listening socket with it; and a worker started just before
    # the master stopped is killed too
    Store::wait_for(sub {
        my @l = listeners($gw->port('gw'));
        kill 'KILL', @l if @l;
        !@l && !grep { kill 0, $_ } @rest });
    my $before = keys %{ answered($backend) };

    $gw->start(http => $conf);
    ok(wait_answered($backend, $before + $STEPS[0]),
       "$t the master killed too, then restarted: the stream goes on");

    open my $stop, '>', $gw->dir . "/stop-$backend" or die;
    close $stop;
    waitpid($_, 0) for @clients;

    # every answered request: its record is there, its provider call once

    my $a = answered($backend);
    my %done = map { $_->[0] => 1 } $st->sql('SELECT idem_key FROM'
        . ' integrations_idempotency WHERE state = 1');
    my @missing = grep { !$done{$_} } sort keys %$a;

    my @lost;
    for my $key (sort keys %$a) {
        my $r = Store::pay($gw, $key);
        push @lost, $key unless ($r->{headers}{'idempotent-replayed'} // '')
                                eq 'true' && $r->{body} eq $a->{$key};
    }

    my %calls;
    $calls{ $_->{header}{'idempotency-key'} // '' }++
        for grep { $_->{method} eq 'POST' } $stripe->requests;
    my @twice = grep { ($calls{$_} // 0) != 1 } sort keys %$a;

    ok(keys %$a >= $before + $STEPS[0],
       "$t " . (keys %$a) . ' requests were answered');
    is_deeply(\@missing, [], "$t every answered request has its record");
    is_deeply(\@lost, [], "$t every answered request is replayed, byte for "
              . 'byte, after the crashes');
    is_deeply(\@twice, [], "$t no provider call was repeated for any of them")
        or diag join ', ', map { "$_: " . ($calls{$_} // 0) } @twice;

    if ($backend eq 'sqlite') {
        is($st->value('PRAGMA integrity_check'), 'ok',
           "$t the database is intact");
    }

    # the master's [alert] about the worker this test killed is expected;
    # any other still fails the test (Gateway's checks at stop)
    my $log = $gw->error_log;
    $log =~ s/\[alert\]( \d+#\d+: worker process \d+ exited on signal 9)/[killed]$1/g;
    open my $fh, '>', $gw->dir . '/error.log' or die;
    print $fh $log;
    close $fh;

    $gw->stop;
    $gw->{checked} = 0;
}

done_testing;
