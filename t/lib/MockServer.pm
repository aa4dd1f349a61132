package MockServer;

# A provider stand-in: a small forking HTTP/1.1 server on loopback that
# records every request it receives, byte for byte, and answers through a
# handler the test supplies.  It checks wire formats on its own, never by
# calling the module's code.
#
#   my $up = MockServer->new(port => $port, handler => sub {
#       my ($req, $mode, $srv) = @_; # $req: method target headers body;
#                                    # $srv->mode: the mode now
#       return (200, { 'Content-Type' => 'text/plain' }, "ok");
#   });
#   $up->set_mode('failing');        # handlers may switch on it
#   $up->set_mode('down', 2);        # the next two requests, then healthy
#   $up->restart;                    # the connections kept alive closed
#   my @seen = $up->requests;        # each with its nth on its connection
#   $up->stop;
#
# A handler may also return { hang => SECONDS } (answer nothing for that
# long, then close) or { close => 1 } (close at once).

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64;
use POSIX qw(WNOHANG _exit);
use Fcntl qw(:flock);
use Time::HiRes qw(sleep time);

our @LIVE;

# the reason phrases real servers send (nginx passes them on)
our %REASON = (
    200 => 'OK', 201 => 'Created', 202 => 'Accepted', 204 => 'No Content',
    301 => 'Moved Permanently', 302 => 'Found', 304 => 'Not Modified',
    400 => 'Bad Request', 401 => 'Unauthorized', 402 => 'Payment Required',
    403 => 'Forbidden', 404 => 'Not Found', 405 => 'Method Not Allowed',
    409 => 'Conflict', 410 => 'Gone', 413 => 'Payload Too Large',
    415 => 'Unsupported Media Type', 422 => 'Unprocessable Entity',
    429 => 'Too Many Requests', 500 => 'Internal Server Error',
    502 => 'Bad Gateway', 503 => 'Service Unavailable',
    504 => 'Gateway Timeout',
);


# A directory for what a stand-in's server processes share, one per test
# process and name: Store->each_backend runs a test's backends in
# processes of their own, each with its own stand-ins.
my %PROCESS_DIR;

sub process_dir {
    my ($name) = @_;
    my $d = $PROCESS_DIR{$name};
    return $d->[0] if $d && $d->[1] == $$;
    my $dir = tempdir("$name-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    $PROCESS_DIR{$name} = [$dir, $$];
    return $dir;
}

sub new {
    my ($class, %args) = @_;
    my $dir = tempdir('mock-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $self = bless { dir => $dir, port => $args{port},
                       handler => $args{handler} }, $class;
    $self->set_mode($args{mode} // 'healthy');
    $self->start;
    push @LIVE, $self;
    return $self;
}

sub port { $_[0]{port} }

# a mode, for good or (with a count) for the next $n requests, then
# $then (healthy): an outage that ends on the provider's side, after the
# attempts it refuses, where a test that ends it on seeing them could be
# late (retries with jitter can come closer together than a poll)
sub set_mode {
    my ($self, $mode, $n, $then) = @_;
    my $lock = $self->mode_lock;
    if ($n) {
        $self->put('budget', "$n " . ($then // 'healthy'));
    } else {
        unlink "$self->{dir}/budget";
    }
    $self->put('mode', $mode);
}

sub put {
    my ($self, $name, $v) = @_;
    open my $fh, '>', "$self->{dir}/$name.tmp" or die $!;
    print $fh $v;
    close $fh;
    rename "$self->{dir}/$name.tmp", "$self->{dir}/$name";
}

# held while the handle lives: each connection is a process of its own
sub mode_lock {
    my ($self) = @_;
    open my $fh, '>>', "$self->{dir}/lock" or die $!;
    flock $fh, LOCK_EX;
    return $fh;
}

# the mode a request is answered in, counted against a mode's count
sub take_mode {
    my ($self) = @_;
    my $lock = $self->mode_lock;
    my $mode = $self->mode;
    open my $fh, '<', "$self->{dir}/budget" or return $mode;
    my ($n, $then) = split ' ', scalar <$fh>;
    close $fh;
    if ($n > 1) {
        $self->put('budget', ($n - 1) . " $then");
    } else {
        unlink "$self->{dir}/budget";
        $self->put('mode', $then);
    }
    return $mode;
}

sub mode {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/mode" or return 'healthy';
    local $/;
    return scalar <$fh>;
}

sub start {
    my ($self) = @_;
    my $listen = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1',
        LocalPort => $self->{port}, Proto => 'tcp', ReuseAddr => 1)
        or die "mock listen $self->{port}: $!";

    my $pid = fork() // die "fork: $!";
    if ($pid) {
        close $listen;
        $self->{pid} = $pid;
        return;
    }

    setpgrp(0, 0);
    $SIG{CHLD} = sub { 1 while waitpid(-1, WNOHANG) > 0 };
    $SIG{TERM} = sub { _exit(0) };

    while (1) {
        my $c = $listen->accept or next;
        my $child = fork();
        if (!defined $child) { close $c; next; }
        if ($child == 0) {
            close $listen;
            $self->serve($c);
            _exit(0);
        }
        close $c;
    }
}

sub serve {
    my ($self, $c) = @_;
    binmode $c;
    my ($buf, $nth) = ('', 0);

    while (1) {
        my $req = read_request($c, \$buf) or return;
        $req->{nth} = ++$nth;       # 1: the connection's first request
        $self->record($req);

        my @resp = $self->{handler}->($req, $self->take_mode, $self);

        if (ref $resp[0] eq 'HASH') {
            my $act = $resp[0];
            sleep $act->{hang} if $act->{hang};
            close $c;
            return;
        }

        my ($status, $headers, $body) = @resp;
        $headers //= {};
        $body //= '';
        my $out = "HTTP/1.1 $status " . ($REASON{$status} // 'Unknown')
                . "\r\n";
        $out .= "$_: $headers->{$_}\r\n" for sort keys %$headers;
        $out .= "Content-Length: " . length($body) . "\r\n\r\n" . $body;

        syswrite_all($c, $out) or return;

        return if ($req->{header}{connection} // '') =~ /close/i;
    }
}

sub syswrite_all {
    my ($c, $data) = @_;
    while (length $data) {
        my $n = syswrite($c, $data);
        return 0 unless $n;
        substr($data, 0, $n, '');
    }
    return 1;
}

sub read_more {
    my ($c, $buf) = @_;
    my $n = sysread($c, $$buf, 65536, length $$buf);
    return $n;
}

sub read_request {
    my ($c, $buf) = @_;

    while ($$buf !~ /\r\n\r\n/) {
        read_more($c, $buf) or return undef;
    }

    my $end = index($$buf, "\r\n\r\n");
    my $head = substr($$buf, 0, $end + 4, '');
    my ($line, @lines) = split /\r\n/, $head;
    my ($method, $target, $version) = split / /, $line, 3;

    my (@headers, %header);
    for (@lines) {
        my ($k, $v) = /^([^:]+):[ \t]*(.*?)[ \t]*$/ or next;
        push @headers, [$k, $v];
        my $lk = lc $k;
        $header{$lk} = exists $header{$lk} ? "$header{$lk}, $v" : $v;
    }

    my $body = '';
    if (($header{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            while ($$buf !~ /\r\n/) { read_more($c, $buf) or return undef }
            $$buf =~ s/^([0-9a-fA-F]+)[^\r]*\r\n// or return undef;
            my $n = hex $1;
            while (length($$buf) < $n + 2) {
                read_more($c, $buf) or return undef;
            }
            $body .= substr($$buf, 0, $n, '');
            substr($$buf, 0, 2, '');
            last if $n == 0;
        }
    } elsif (my $len = $header{'content-length'}) {
        while (length($$buf) < $len) { read_more($c, $buf) or return undef }
        $body = substr($$buf, 0, $len, '');
    }

    return { method => $method, target => $target, version => $version,
             headers => \@headers, header => \%header, body => $body,
             time => time };
}

sub record {
    my ($self, $req) = @_;
    my %r = %$req;
    $r{body} = encode_base64($req->{body}, '');
    open my $fh, '>>', "$self->{dir}/requests" or die $!;
    flock $fh, LOCK_EX;
    print $fh encode_json(\%r), "\n";
    close $fh;
}

# what the server received so far, in order of arrival
sub requests {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/requests" or return ();
    my @r;
    while (<$fh>) {
        my $r = decode_json($_);
        $r->{body} = decode_base64($r->{body});
        push @r, $r;
    }
    return @r;
}

sub clear { unlink "$_[0]{dir}/requests" }

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', -$pid;
    kill 'TERM', $pid;
    waitpid($pid, 0);
    return $pid;
}

# a provider's restart: the connections clients keep alive to it are
# closed (their processes gone) before it listens again, its mode and
# what it received kept.  curl sends a request again, within the same
# try, when a connection it reused closes unanswered: a test that counts
# a stand-in's refusals as tries restarts it first
sub restart {
    my ($self) = @_;
    my $pid = $self->stop;
    for (1 .. 200) {
        last unless $pid && kill 0, -$pid;
        sleep 0.01;
    }
    $self->start;
}

END { $_->stop for @LIVE }

1;
