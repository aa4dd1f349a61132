package Redis;

# A real redis-server for a test: a unix socket in a temporary directory
# (and no TCP port, "--port 0", unless tcp => 1 asks for a free loopback
# one), no persistence, stopped and removed when the test ends.  It can be
# killed, paused and started again on the same socket and port, as an
# outage test needs; redis-cli reads what the gateway left in it.
#
#   my $rd = Redis->new;                   # started
#   "integrations_redis " . $rd->url . ";" # unix:/tmp/.../redis.sock
#   $rd->cli('GET', 'k');  $rd->kill;  $rd->start;
#   $rd->calls('evalsha')                  # INFO commandstats
#
# The socket is open to every user (the workers run as nobody when the
# tests run as root); password => 'x' sets requirepass; cpu => 1 pins it
# (benchmarks).

use strict;
use warnings;

use File::Temp qw(tempdir);
use Gateway ();
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our @LIVE;

sub new {
    my ($class, %args) = @_;

    my $dir = tempdir('redis-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;

    my $self = bless {
        dir => $dir,
        sock => "$dir/redis.sock",
        port => $args{tcp} ? Gateway::free_port() : 0,
        password => $args{password},
        cpu => $args{cpu},
        owner => $$,
    }, $class;

    push @LIVE, $self;
    $self->start unless $args{no_start};
    return $self;
}

sub dir { $_[0]{dir} }
sub socket_path { $_[0]{sock} }
sub port { $_[0]{port} }

# unix:/path, or redis://127.0.0.1:PORT with tcp => 1 and tcp => 1 here
sub url {
    my ($self, %args) = @_;
    return "redis://127.0.0.1:$self->{port}" . ($args{db} ? "/$args{db}" : '')
        if $args{tcp};
    return "unix:$self->{sock}" . ($args{db} ? "?db=$args{db}" : '');
}

sub start {
    my ($self) = @_;
    die "redis-server is running\n" if $self->{pid};

    my @cmd = ('redis-server', '--port', $self->{port},
        '--unixsocket', $self->{sock}, '--unixsocketperm', '777',
        '--save', '', '--appendonly', 'no', '--dir', $self->{dir},
        '--logfile', "$self->{dir}/redis.log", '--daemonize', 'no');
    push @cmd, '--bind', '127.0.0.1' if $self->{port};
    push @cmd, '--requirepass', $self->{password} if $self->{password};
    unshift @cmd, 'taskset', '-c', $self->{cpu} if defined $self->{cpu};

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$self->{dir}/stdout.log";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or exit 127;
    }
    $self->{pid} = $pid;

    my $deadline = time + 20;
    while (time < $deadline) {
        return $self if ($self->cli('PING') // '') =~ /PONG/;
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pid};
            die "redis-server exited at start:\n"
                . `cat $self->{dir}/stdout.log $self->{dir}/redis.log`;
        }
        sleep 0.02;
    }
    die "redis-server did not answer\n";
}

# SIGKILL: the socket file stays, connections are reset
sub kill {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    CORE::kill 'KILL', $pid;
    waitpid($pid, 0);
    CORE::kill 'CONT', $pid;
}

# SIGTERM: a clean stop, the socket file removed
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    CORE::kill 'CONT', $pid;
    CORE::kill 'TERM', $pid;
    waitpid($pid, 0);
}

sub pause  { CORE::kill 'STOP', $_[0]{pid} if $_[0]{pid} }
sub resume { CORE::kill 'CONT', $_[0]{pid} if $_[0]{pid} }

# redis-cli over the socket; the output without the final newline
sub cli {
    my ($self, @args) = @_;
    my @cmd = ('redis-cli', '-s', $self->{sock});
    push @cmd, '--no-auth-warning', '-a', $self->{password}
        if $self->{password};
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>', '/dev/null';
        exec @cmd, @args or exit 127;
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    return undef if $?;
    $out =~ s/\s+\z// if defined $out;
    return $out;
}

# calls of a command since the start (or the last reset_stats)
sub calls {
    my ($self, $name) = @_;
    my $info = $self->cli('INFO', 'commandstats') // '';
    my ($n) = $info =~ /^cmdstat_\Q$name\E:calls=(\d+)/m;
    return $n // 0;
}

sub reset_stats { $_[0]->cli('CONFIG', 'RESETSTAT') }

END {
    my $status = $?;
    for my $rd (@LIVE) {
        next unless $rd->{pid} && $rd->{owner} == $$;
        CORE::kill 'CONT', $rd->{pid};
        CORE::kill 'KILL', $rd->{pid};
        waitpid($rd->{pid}, 0);
    }
    $? = $status;
}

1;
