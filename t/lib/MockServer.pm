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
#   my @seen = $up->requests;
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

sub set_mode {
    my ($self, $mode) = @_;
    open my $fh, '>', "$self->{dir}/mode.tmp" or die $!;
    print $fh $mode;
    close $fh;
    rename "$self->{dir}/mode.tmp", "$self->{dir}/mode";
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
    my $buf = '';

    while (1) {
        my $req = read_request($c, \$buf) or return;
        $self->record($req);

        my @resp = $self->{handler}->($req, $self->mode, $self);

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
}

END { $_->stop for @LIVE }

1;
