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

use File::Temp qw(tempdir);
use IO::Socket::INET;
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

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
        LocalPort => 0, Proto => 'tcp', ReuseAddr => 1) or die "port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

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
}

1;
