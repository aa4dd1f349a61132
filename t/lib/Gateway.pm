package Gateway;

# Starts the stock nginx binary with the module on free loopback ports,
# from a configuration written per test; fails the test on any [alert],
# [emerg], [crit] or sanitizer/valgrind report; cleans up even when the
# test dies.
#
#   my $gw = Gateway->new(http => $http_block_body, workers => 2);
#   $gw->start;  my $r = $gw->get('/x');  $gw->stop;
#
# In the configuration text %%PORT:name%% is a free port (the same one for
# the same name), %%DIR%% the test's directory.

use strict;
use warnings;

use File::Spec;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Test::More;

our @LIVE;

sub new {
    my ($class, %args) = @_;

    my $dir = tempdir('gateway-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;  # workers run as nobody when the tests run as root

    my $self = bless {
        dir => $dir,
        ports => {},
        workers => $args{workers} // 1,
        error_log_level => $args{error_log_level} // 'info',
        checks => $args{checks} // 1,     # 0: no log checks (benchmarks)
        # 0: never under valgrind, for a stand-in (a TLS front) that runs
        # none of the module's code
        valgrind => $args{valgrind} // $ENV{VALGRIND},
        main => $args{main} // '',
        http => $args{http} // '',
        nginx => $ENV{NGINX_BIN} // '/usr/sbin/nginx',
        module => $ENV{MODULE} // die("MODULE is not set\n"),
    }, $class;

    push @LIVE, $self;
    return $self;
}

sub dir { $_[0]{dir} }

sub port {
    my ($self, $name) = @_;
    $name //= 'gw';
    return $self->{ports}{$name} //= free_port();
}

# A free loopback port, claimed for this process until it ends, so that
# test files run at once (prove -j2) and the halves of a store test never
# get the same one: before, a port was found free, closed, and bound by
# nginx or a stand-in later, and another process could be handed it in
# between.  Ports come from below the kernel's ephemeral range, which no
# connect() or bind(0) of anyone's takes a source port from; a claim is
# a file named for the port in one directory of the machine, made with
# O_EXCL and holding the claimer's pid; a claim whose process is gone is
# taken over.  free_ports(N) claims N consecutive ports, returns the first.
my $CLAIMS = File::Spec->tmpdir . '/integrations-test-ports';
my %CLAIMED;        # port => pid of the claimer (a fork claims its own)

# 12,000 ports below the ephemeral range (or above it, if it starts low)
sub port_range {
    my ($low, $high) = do {
        open my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range';
        $fh ? split(' ', scalar <$fh>) : ();
    };
    ($low, $high) = (32768, 60999) unless $low && $high;
    return ($low - 12000, $low - 1) if $low >= 13024;
    return ($high + 1, $high + 12000) if $high + 12000 <= 65535;
    die "no 12000 ports outside the ephemeral range $low-$high\n";
}

sub claim {
    my ($port) = @_;
    my $path = "$CLAIMS/$port";
    for (1 .. 2) {
        if (sysopen my $fh, $path, O_WRONLY | O_CREAT | O_EXCL, 0666) {
            print $fh "$$\n";
            close $fh;
            $CLAIMED{$port} = $$;
            return 1;
        }
        return 0 unless $!{EEXIST};
        open my $fh, '<', $path or next;      # released meanwhile
        my $pid = <$fh> // '';
        close $fh;
        chomp $pid;
        # being written, or its process alive: not ours
        return 0 if $pid !~ /^\d+$/ || kill(0, $pid) || $!{EPERM};
        # a dead claimer's: taken over by whoever renames it away first
        rename($path, "$path.stale.$$") or return 0;
        # another's fresh claim, if it took the stale one over meanwhile:
        # put back (link() fails where a third one claimed it since)
        if (open my $st, '<', "$path.stale.$$") {
            my $now = <$st> // '';
            chomp $now;
            close $st;
            if ($now ne $pid) {
                link("$path.stale.$$", $path);
                unlink "$path.stale.$$";
                return 0;
            }
        }
        unlink "$path.stale.$$";
    }
    return 0;
}

sub release {
    my ($port) = @_;
    my $pid = delete $CLAIMED{$port};
    unlink "$CLAIMS/$port" if defined $pid && $pid == $$;
}

sub free_ports {
    my ($n) = @_;
    $n //= 1;
    mkdir $CLAIMS;
    chmod 01777, $CLAIMS;
    my ($lo, $hi) = port_range();
    for (1 .. 1000) {
        my $base = $lo + int(rand($hi - $lo + 2 - $n));
        my @got;
        for my $port ($base .. $base + $n - 1) {
            last unless claim($port);
            push @got, $port;
            # and not held by something that does not claim (a stray
            # nginx of a killed run)
            my $s = IO::Socket::INET->new(Listen => 1,
                LocalAddr => '127.0.0.1', LocalPort => $port,
                Proto => 'tcp', ReuseAddr => 1);
            if (!$s) { pop @got; release($port); last; }
            close $s;
        }
        return $base if @got == $n;
        release($_) for @got;
    }
    die "no $n free ports in $lo-$hi\n";
}

sub free_port { free_ports(1) }

sub write_file {
    my ($self, $name, $content, $mode) = @_;
    my $path = "$self->{dir}/$name";
    open my $fh, '>', $path or die "$path: $!";
    binmode $fh;
    print $fh $content;
    close $fh;
    chmod($mode // 0600, $path);
    return $path;
}

sub expand {
    my ($self, $text) = @_;
    $text =~ s/%%PORT:(\w+)%%/$self->port($1)/ge;
    $text =~ s/%%DIR%%/$self->{dir}/g;
    return $text;
}

sub config {
    my ($self) = @_;
    my $d = $self->{dir};
    return $self->expand(<<"CONF");
load_module $self->{module};
worker_processes $self->{workers};
pid $d/nginx.pid;
error_log $d/error.log $self->{error_log_level};
$self->{main}
events { worker_connections 1024; }
http {
    access_log $d/access.log;
    client_body_temp_path $d/client_body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
$self->{http}
}
CONF
}

sub write_config {
    my ($self, %args) = @_;
    $self->{http} = $args{http} if defined $args{http};
    $self->{main} = $args{main} if defined $args{main};
    return $self->write_file('nginx.conf', $self->config, 0644);
}

sub command {
    my ($self, @extra) = @_;
    my $d = $self->{dir};
    return ($self->{nginx}, '-p', "$d/", '-c', "$d/nginx.conf",
            '-e', "$d/error.log", @extra);
}

# nginx -t: returns (passed, output)
sub test_config {
    my ($self, %args) = @_;
    $self->write_config(%args);
    my @cmd = $self->command('-t');
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or exit 127;
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? == 0, $out);
}

sub start {
    my ($self, %args) = @_;
    $self->write_config(%args);

    unlink "$self->{dir}/nginx.pid";
    my @cmd = $self->command('-g', 'daemon off;');

    if ($self->{valgrind}) {
        # origins tracking doubles memcheck's cost; VALGRIND_ORIGINS=1
        # turns it on to find where an uninitialised value came from
        unshift @cmd, 'valgrind', '-q', '--leak-check=no',
            ($ENV{VALGRIND_ORIGINS} ? '--track-origins=yes' : ()),
            "--log-file=$self->{dir}/valgrind.%p.log";
    }

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$self->{dir}/stdout.log";
        open STDERR, '>>', "$self->{dir}/stderr.log";
        exec @cmd or die "exec: $!";
    }
    $self->{pid} = $pid;

    # ready when every listening port accepts
    my $deadline = time + ($ENV{VALGRIND} ? 60 : 10);
    for my $name (@{ $args{wait_for} // ['gw'] }) {
        my $port = $self->port($name);
        while (1) {
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                          Timeout => 1);
            if ($s) { close $s; last; }
            if (waitpid($pid, WNOHANG) == $pid) {
                delete $self->{pid};
                die "nginx exited at start:\n" . $self->read_file('stderr.log')
                    . $self->error_log;
            }
            die "nginx did not listen on $port\n" if time > $deadline;
            sleep 0.05;
        }
    }

    return $self;
}

sub read_file {
    my ($self, $name) = @_;
    open my $fh, '<', "$self->{dir}/$name" or return '';
    local $/;
    return scalar <$fh>;
}

sub error_log { $_[0]->read_file('error.log') }

# rewrites the configuration and reloads; waits for the new workers
sub reload {
    my ($self, %args) = @_;
    $self->write_config(%args);
    my $before = () = $self->error_log =~ /start worker process/g;
    kill 'HUP', $self->{pid};
    my $deadline = time + ($ENV{VALGRIND} ? 60 : 10);
    while (time < $deadline) {
        my $now = () = $self->error_log =~ /start worker process/g;
        last if $now >= $before + $self->{workers};
        sleep 0.05;
    }
    sleep($ENV{VALGRIND} ? 2 : 0.2);
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'QUIT', $pid;
    my $deadline = time + ($ENV{VALGRIND} ? 60 : 10);
    while (waitpid($pid, WNOHANG) != $pid) {
        if (time > $deadline) {
            fail('nginx stopped within the deadline');
            kill 'KILL', $pid;
            waitpid($pid, 0);
            last;
        }
        sleep 0.05;
    }
    $self->check_logs;
}

# every report that means something went wrong inside nginx
sub check_logs {
    my ($self) = @_;
    return if !$self->{checks} || $self->{checked}++;
    my @bad = grep { /\[(alert|emerg|crit)\]|Sanitizer|runtime error:/ }
              split /\n/, $self->error_log . $self->read_file('stderr.log');
    ok(!@bad, 'no alert, emerg, crit or sanitizer line in the error log')
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

    if ($self->{valgrind}) {
        opendir my $dh, $self->{dir};
        my @reports;
        for my $f (sort grep { /^valgrind\./ } readdir $dh) {
            my $text = $self->read_file($f);
            push @reports, "$f:\n$text" if $text =~ /\S/;
        }
        ok(!@reports, 'valgrind reported no error')
            or diag(join "\n", @reports);
    }
}

# One request on a fresh connection, written exactly as given, so tests
# control every byte on the wire.
sub raw {
    my ($self, $request, %args) = @_;
    my $port = $args{port} // $self->port('gw');
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Timeout => $args{timeout} // 10) or die "connect $port: $!";
    binmode $s;
    print $s $request;
    local $/;
    my $resp = <$s> // '';
    close $s;
    return parse_response($resp);
}

sub parse_response {
    my ($text) = @_;
    my ($head, $body) = split /\r\n\r\n/, $text, 2;
    $head //= '';
    my ($status_line, @lines) = split /\r\n/, $head;
    my ($status) = ($status_line // '') =~ m{^HTTP/\d\.\d (\d+)};
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    $body //= '';
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($body, 0, $n, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }
    return { status => $status // 0, headers => \%h, body => $body };
}

sub request {
    my ($self, $method, $uri, %args) = @_;
    my $body = $args{body} // '';
    my $headers = $args{headers} // {};
    my $req = "$method $uri HTTP/1.1\r\nHost: " . ($args{host} // 'localhost')
            . "\r\nConnection: close\r\n";
    $req .= "$_: $headers->{$_}\r\n" for sort keys %$headers;
    $req .= "Content-Length: " . length($body) . "\r\n"
        if length $body || $method =~ /^(POST|PUT|PATCH)$/;
    $req .= "\r\n$body";
    return $self->raw($req, %args);
}

sub get { my ($self, $uri, %a) = @_; $self->request('GET', $uri, %a) }

END {
    for my $gw (@LIVE) {
        next unless $gw->{pid};
        kill 'KILL', $gw->{pid};
        waitpid($gw->{pid}, 0);
    }
    release($_) for keys %CLAIMED;
}

1;
