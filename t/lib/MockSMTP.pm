package MockSMTP;

# A real SMTP server for the tests: t/lib/smtp_server.py on Debian's
# python3-aiosmtpd, on a loopback port, saving every message it accepts
# byte for byte.  TLS with a certificate made at test time (openssl, a
# throwaway CA and a server certificate for 127.0.0.1 and localhost).
#
#   my $smtp = MockSMTP->new(port => $port, tls => 'starttls',
#                            auth => 'user:pass');     # or tls => 'implicit'
#   $gw->write_file('ca.pem', $smtp->ca_pem);          # for the client
#   my @m = $smtp->wait_messages(1);                   # [{raw, envelope}]
#   $smtp->set_mode('busy');                           # busy|reject|slow
#   $smtp->stop;

use strict;
use warnings;

use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep time);

our @LIVE;

my $SCRIPT = dirname(__FILE__) . '/smtp_server.py';

sub new {
    my ($class, %args) = @_;
    my $dir = tempdir('smtp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/spool";
    my $self = bless { dir => $dir, port => $args{port},
                       tls => $args{tls} // 'none', auth => $args{auth} },
                     $class;
    $self->make_cert if $self->{tls} ne 'none';
    $self->start;
    push @LIVE, $self;
    return $self;
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }

sub run_quiet {
    my (@cmd) = @_;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @cmd or exit 127;
    }
    waitpid($pid, 0);
    die "@cmd failed\n" if $?;
}

# a CA, and a server certificate it signs for 127.0.0.1 and localhost
sub make_cert {
    my ($self) = @_;
    my $d = $self->{dir};
    open my $fh, '>', "$d/ext.cnf" or die;
    print $fh "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            . "basicConstraints=CA:FALSE\n"
            . "keyUsage=digitalSignature,keyEncipherment\n"
            . "extendedKeyUsage=serverAuth\n";
    close $fh;
    run_quiet('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
              '-keyout', "$d/ca.key", '-out', "$d/ca.pem", '-days', '2',
              '-subj', '/CN=mock smtp test CA');
    run_quiet('openssl', 'req', '-newkey', 'rsa:2048', '-nodes',
              '-keyout', "$d/server.key", '-out', "$d/server.csr",
              '-subj', '/CN=127.0.0.1');
    run_quiet('openssl', 'x509', '-req', '-in', "$d/server.csr",
              '-CA', "$d/ca.pem", '-CAkey', "$d/ca.key", '-CAcreateserial',
              '-out', "$d/server.pem", '-days', '2',
              '-extfile', "$d/ext.cnf");
}

sub ca_pem {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/ca.pem" or return '';
    local $/;
    return scalar <$fh>;
}

sub start {
    my ($self) = @_;
    my $d = $self->{dir};
    my @cmd = ('/usr/bin/python3', $SCRIPT, '--port', $self->{port},
               '--dir', "$d/spool", '--tls', $self->{tls});
    push @cmd, '--cert', "$d/server.pem", '--key', "$d/server.key"
        if $self->{tls} ne 'none';
    push @cmd, '--auth', $self->{auth} if $self->{auth};

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$d/server.log";
        open STDERR, '>>', "$d/server.log";
        exec @cmd or exit 127;
    }
    $self->{pid} = $pid;

    my $deadline = time + 15;
    while (1) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}",
                                      Timeout => 1);
        if ($s) { close $s; last; }
        die "the SMTP server did not start:\n" . $self->log
            if time > $deadline || waitpid($pid, 1) == $pid;
        sleep 0.05;
    }
}

sub log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/server.log" or return '';
    local $/;
    return scalar <$fh>;
}

sub set_mode {
    my ($self, $mode) = @_;
    my $f = "$self->{dir}/spool/mode";
    open my $fh, '>', "$f.tmp" or die $!;
    print $fh $mode;
    close $fh;
    rename "$f.tmp", $f;
}

# every message so far: [{raw => bytes, envelope => {...}}], in order
sub messages {
    my ($self) = @_;
    my $d = "$self->{dir}/spool";
    opendir my $dh, $d or return ();
    my @m;
    for my $f (sort grep { /^\d+\.eml$/ } readdir $dh) {
        my ($n) = $f =~ /^(\d+)/;
        local $/;
        open my $e, '<', "$d/$f" or next;
        binmode $e;
        my $raw = <$e>;
        open my $j, '<', "$d/$n.json" or next;
        push @m, { raw => $raw, envelope => decode_json(scalar <$j>) };
    }
    return @m;
}

sub wait_messages {
    my ($self, $n, $timeout) = @_;
    my $deadline = time + ($timeout // ($ENV{VALGRIND} ? 60 : 15));
    while (1) {
        my @m = $self->messages;
        return @m if @m >= $n || time > $deadline;
        sleep 0.05;
    }
}

sub clear {
    my ($self) = @_;
    my $d = "$self->{dir}/spool";
    opendir my $dh, $d or return;
    unlink map { "$d/$_" } grep { /^\d+\.(eml|json)$/ } readdir $dh;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    waitpid($pid, 0);
}

END { local $?; $_->stop for @LIVE }

1;
