package Store;

# The store's backends for the tests: SQLite in the gateway's directory,
# and a real PostgreSQL 15 started for the test run (initdb and pg_ctl as
# an unprivileged user, listening only on a unix socket in a temporary
# directory), stopped and removed when the test ends.  Every store test
# runs its checks once per backend:
#
#   for my $b (Store->backends) {
#       my $st = Store->new($b, $gw);        # a fresh database
#       $gw->start(http => $st->directive . ...);
#       $st->sql("SELECT count(*) FROM integrations_idempotency");
#   }
#
# STORE_BACKENDS=sqlite (or postgresql) runs one of them only.
# Store->each_backend(sub { my ($backend) = @_; ... }) runs a test's
# per-backend half in a subtest per backend, at once in the plain run.
# PostgreSQL: the tests connect as a role with a password (password_file=
# is exercised), psql as the superuser over the same socket.  Tests that
# run as root run the server as "nobody", as nginx's workers run: both
# reach the socket, nobody else does.

use strict;
use warnings;

use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Test::More;
use Test2::API qw(run_subtest);

my $PG;            # the server of this test run, started on first use
my $DBN = 0;

my $BIN = do {
    my $dir = `pg_config --bindir 2>/dev/null`;
    chomp $dir;
    ($dir && -x "$dir/initdb") ? $dir : (glob('/usr/lib/postgresql/*/bin'))[-1]
        // '/usr/lib/postgresql/15/bin';
};

our $USER = $> == 0 ? 'nobody' : scalar getpwuid($>);
our $PASSWORD = 'store-test-password';

sub backends {
    my @all = ('sqlite', 'postgresql');
    return @all unless $ENV{STORE_BACKENDS};
    my %want = map { $_ => 1 } split /[ ,]+/, $ENV{STORE_BACKENDS};
    return grep { $want{$_} } @all;
}

# Runs $code->($backend) once per backend (or per backend given), each
# in a subtest named for the backend.  In the plain run the backends run
# at once, each in a child process of its own, which cuts a store test's
# wall time to its slower half: most of a half is waiting (on timers,
# sweeps, retries), not CPU, under valgrind too (the valgrind pass used
# about half a core of the two: 458 s of CPU in 878 s).  STORE_SERIAL=1
# runs them one after the other.
#
# $code must make everything it uses (its gateway, mocks, ports,
# directories, store): the halves run at the same time and share
# nothing; what the parent started stays the parent's (a child's END
# blocks stop only the child's own).  A child's subtest reaches the
# parent through Test2's IPC; a child that ends without finishing it (a
# signal, an exit in $code) fails the file.
sub each_backend {
    my ($class, $code, @backends) = @_;
    @backends = $class->backends unless @backends;

    if ($ENV{STORE_SERIAL} || @backends < 2) {
        for my $backend (@backends) {
            subtest($backend => sub { $code->($backend) });
        }
        return;
    }

    require Test2::IPC;
    Test2::IPC->import;

    # a child's mark that its subtest ended (an exit 0 in $code does not)
    my $marks = tempdir('store-halves-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my %child;
    for my $backend (@backends) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            # what the parent started is the parent's to stop
            no warnings 'once';
            @Gateway::LIVE = ();
            @MockServer::LIVE = ();
            @MockSMTP::LIVE = ();
            run_subtest($backend, sub { $code->($backend) },
                        { buffered => 1 });
            if (open my $fh, '>', "$marks/$backend") {
                close $fh;
            }
            exit 0;
        }
        $child{$pid} = $backend;
    }
    for my $pid (sort { $a <=> $b } keys %child) {
        waitpid($pid, 0);
        my $backend = $child{$pid};
        ok($? == 0 && -e "$marks/$backend",
           "[$backend] the half's process ran to its end")
            or diag("[$backend] exit status $?");
    }
}

# a command as the unprivileged user (as is, when the tests are not root)
sub as_user {
    my (@cmd) = @_;
    return $> == 0 ? ('runuser', '-u', $USER, '--', @cmd) : @cmd;
}

sub run_quiet {
    my (@cmd) = @_;
    my $out = '';
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or exit 127;
    }
    local $/;
    $out = <$fh> // '';
    close $fh;
    return ($? == 0, $out);
}

sub pg_server {
    return $PG if $PG;

    my $dir = tempdir('store-pg-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam($USER);
        chown $uid, $gid, $dir;
    }
    chmod 0700, $dir;

    my $data = "$dir/data";
    my ($ok, $out) = run_quiet(as_user("$BIN/initdb", '-D', $data, '-A',
        'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'));
    die "initdb failed:\n$out" unless $ok;

    # the superuser for psql; the gateway's role with a password
    open my $hba, '>', "$data/pg_hba.conf" or die "pg_hba.conf: $!";
    print $hba "local all postgres trust\n",
               "local all all scram-sha-256\n";
    close $hba;

    ($ok, $out) = run_quiet(as_user("$BIN/pg_ctl", '-D', $data, '-l',
        "$dir/server.log", '-w', '-o',
        "-k $dir -c listen_addresses='' -p 5432 -c fsync=on"
        . " -c max_connections=60 -c shared_buffers=16MB", 'start'));
    die "pg_ctl start failed:\n$out" . slurp("$dir/server.log") unless $ok;

    $PG = { dir => $dir, data => $data, pid => $$ };

    psql('postgres', "CREATE ROLE gw LOGIN PASSWORD '$PASSWORD'");

    return $PG;
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

# psql as the superuser; rows as arrays of fields
sub psql {
    my ($db, $sql) = @_;
    my ($ok, $out) = run_quiet('psql', '-X', '-q', '-h', $PG->{dir}, '-p',
        5432, '-U', 'postgres', '-d', $db, '-At', '-F', '|',
        '-v', 'ON_ERROR_STOP=1', '-c', $sql);
    die "psql: $sql\n$out" unless $ok;
    return map { [split /\|/, $_, -1] } grep { length } split /\n/, $out;
}

sub pg_stop {
    my ($mode) = @_;
    my ($ok, $out) = run_quiet(as_user("$BIN/pg_ctl", '-D', $PG->{data},
        '-m', $mode // 'fast', '-w', 'stop'));
    die "pg_ctl stop: $out" unless $ok;
}

sub pg_start {
    my ($ok, $out) = run_quiet(as_user("$BIN/pg_ctl", '-D', $PG->{data}, '-l',
        "$PG->{dir}/server.log", '-w', '-o',
        "-k $PG->{dir} -c listen_addresses='' -p 5432 -c fsync=on"
        . " -c max_connections=60 -c shared_buffers=16MB", 'start'));
    die "pg_ctl start: $out" unless $ok;
}

END {
    if ($PG && $PG->{pid} == $$) {
        my $status = $?;
        run_quiet(as_user("$BIN/pg_ctl", '-D', $PG->{data}, '-m',
                          'immediate', '-w', 'stop'));
        system('rm', '-rf', $PG->{dir});
        $? = $status;
    }
}

# A fresh database for one gateway (or several sharing it): SQLite in a
# directory of the gateway's own, PostgreSQL a new database on the
# server.
sub new {
    my ($class, $backend, $gw, %args) = @_;
    my $self = bless { backend => $backend, gw => $gw }, $class;

    if ($backend eq 'sqlite') {
        my $dir = $args{dir} // ($gw->dir . '/store' . ++$DBN);
        mkdir $dir;
        chmod 0755, $dir;
        $self->{dir} = $dir;
        $self->{path} = "$dir/store.db";
        $self->{url} = "sqlite:$self->{path}";
    } else {
        pg_server();
        $self->{db} = 'gw_' . ++$DBN;
        psql('postgres', "CREATE DATABASE $self->{db} OWNER gw");
        my $enc = $PG->{dir};
        $enc =~ s{([^A-Za-z0-9._~-])}{sprintf '%%%02X', ord $1}ge;
        $self->{url} = "postgresql://gw\@$enc:5432/$self->{db}";
        $self->{password_file} = $gw->write_file("pg-$self->{db}.password",
                                                 "$PASSWORD\n");
    }

    return $self;
}

# the same database for another gateway (another node)
sub share {
    my ($self, $gw) = @_;
    my $o = bless { %$self, gw => $gw }, ref $self;
    delete $o->{hold};
    $o->{password_file} = $gw->write_file("pg-$self->{db}.password",
                                          "$PASSWORD\n")
        if $self->{password_file};
    return $o;
}

sub backend { $_[0]{backend} }
sub url { $_[0]{url} }
sub path { $_[0]{path} }
sub pg { $PG }

# the directive line, with any extra parameters.  Under valgrind a
# connect and the first migration can take longer than the default 5 s on
# a loaded machine: the timeout is 30 s there unless the test sets one.
sub directive {
    my ($self, $extra) = @_;
    my $line = "integrations_store $self->{url}";
    $line .= " password_file=$self->{password_file}"
        if $self->{password_file};
    $extra = join ' ', grep { defined && length } $extra, 'timeout=30s'
        if $ENV{VALGRIND} && !(defined $extra && $extra =~ /\btimeout=/);
    $line .= " $extra" if defined $extra && length $extra;
    return "    $line;\n";
}

# rows of a query, as arrays of fields; SQLite as the workers' user, so
# that nothing it creates beside the database is root's
sub sql {
    my ($self, $sql) = @_;
    if ($self->{backend} eq 'sqlite') {
        my ($ok, $out) = run_quiet(as_user('sqlite3', '-batch', '-noheader',
            '-cmd', '.timeout 5000', $self->{path}, $sql));
        die "sqlite3: $sql\n$out" unless $ok;
        return map { [split /\|/, $_, -1] } grep { length } split /\n/, $out;
    }
    return psql($self->{db}, $sql);
}

# one value
sub value {
    my ($self, $sql) = @_;
    my @rows = $self->sql($sql);
    return @rows ? $rows[0][0] : undef;
}

# the database can no longer be reached / can be again
sub stop_server {
    my ($self) = @_;
    die "stop_server: PostgreSQL only" if $self->{backend} eq 'sqlite';
    pg_stop('fast');
}

sub start_server {
    my ($self) = @_;
    pg_start();
}

# Holds the writers off: SQLite's writer lock (flock on "PATH-lock", as
# the module's own writers take it), or on PostgreSQL an EXCLUSIVE lock on
# the idempotency table in an open transaction.  Reads still go.
sub hold_writes {
    my ($self) = @_;
    if ($self->{backend} eq 'sqlite') {
        require Fcntl;
        open my $fh, '+<', "$self->{path}-lock" or die "lock file: $!";
        flock($fh, Fcntl::LOCK_EX()) or die "flock: $!";
        $self->{hold} = $fh;
        return;
    }
    my $pid = open(my $ph, '|-') // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        exec 'psql', '-X', '-q', '-h', $PG->{dir}, '-p', 5432, '-U',
             'postgres', '-d', $self->{db} or exit 127;
    }
    select((select($ph), $| = 1)[0]);
    print $ph "BEGIN;\nLOCK TABLE integrations_idempotency IN EXCLUSIVE"
        . " MODE;\n";
    $self->{hold} = $ph;
    wait_for(sub {
        $self->value("SELECT count(*) FROM pg_locks WHERE granted AND mode ="
                     . " 'ExclusiveLock' AND relation ="
                     . " 'integrations_idempotency'::regclass") > 0 })
        or die "the table lock was not granted";
}

sub release_writes {
    my ($self) = @_;
    my $fh = delete $self->{hold} or return;
    if ($self->{backend} eq 'sqlite') {
        close $fh;
        return;
    }
    print $fh "COMMIT;\n";
    close $fh;
}

# The http block the store tests share: this store, Stripe's stand-in,
# the payments API at /payments (its Idempotency-Key is the store's
# consumer) and the metrics at /metrics.
sub payments_http {
    my ($self, %args) = @_;
    my $timeout = $args{provider_timeout} // ($ENV{VALGRIND} ? '20s' : '8s');
    my $listen = $args{listen} // '127.0.0.1:%%PORT:gw%%';
    my $store = $self->directive($args{store});
    return $store . <<"CONF" . ($args{extra} // '');
    integrations_outbound_bind  127.0.0.1;
    payment_provider stripe  key_file=%%DIR%%/stripe.key
                             base_url=http://127.0.0.1:%%PORT:stripe%%
                             timeout=$timeout;
    server {
        listen $listen;
        location /payments {
            payment_api;
        }
        location = /metrics {
            integrations_status;
        }
    }
CONF
}

# the body of a payment for a key: the same key, the same body
sub pay_body {
    my ($key, %body) = @_;
    require JSON::PP;
    return JSON::PP->new->canonical->encode({ provider => 'stripe',
        amount => 1050, currency => 'USD', customer_id => 'c-1',
        description => 'store test', source => 'pm_card_visa',
        order_id => 'o-' . ($key // 'nokey'), %body });
}

# POST /payments to a gateway; with a key unless it is undef
sub pay {
    my ($gw, $key, %body) = @_;
    my $body = pay_body($key, %body);
    my %h = ('Content-Type' => 'application/json');
    $h{'Idempotency-Key'} = $key if defined $key;
    my $r = $gw->request('POST', '/payments', body => $body, headers => \%h,
                         timeout => $ENV{VALGRIND} ? 60 : 10);
    $r->{json} = eval { JSON::PP::decode_json($r->{body}) };
    return $r;
}

# the calls a mock got with this Idempotency-Key (the mock appends while
# it is read: a torn last line is read again)
sub calls {
    my ($mock, $key) = @_;
    for (1 .. 40) {
        my @r = eval { $mock->requests };
        return scalar grep { ($_->{header}{'idempotency-key'} // '') eq $key
                             && $_->{method} eq 'POST' } @r unless $@;
        sleep 0.05;
    }
    die "cannot read the mock's requests: $@";
}

# waits until $cond->() is true, or the deadline; returns its last value
sub wait_for {
    my ($cond, $seconds) = @_;
    my $deadline = time + ($seconds // ($ENV{VALGRIND} ? 60 : 10));
    my $v;
    while (!($v = $cond->())) {
        return $v if time > $deadline;
        sleep 0.1;
    }
    return $v;
}

1;
