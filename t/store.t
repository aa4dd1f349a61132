# integrations_store: the directive (nginx -t never needs a database),
# the SQLite files and their modes, migrations applied once by several
# workers, a schema newer than the module refused (503 until it is fixed,
# logged once) and the metrics, on SQLite and on PostgreSQL.

use strict;
use warnings;

use FindBin;
use Test::More;
use Time::HiRes qw(sleep time);

use Gateway;
use MockProviders;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;

# nginx -t runs in a gateway of its own: its [emerg] lines are expected
my $cfg = Gateway->new;
$cfg->write_file('db.password', "secret\n");

# the module's migrations (t/unit/test_store.c checks their order): the
# last version in the list of integrations_store.c
my $latest = do {
    open my $fh, '<', "$FindBin::Bin/../src/store/integrations_store.c"
        or die "integrations_store.c: $!";
    local $/;
    my @v = <$fh> =~ /^    \{ (\d+), "/mg;
    $v[-1];
};

# ---- the directive, with nginx -t -------------------------------------

sub conf_test {
    my ($line) = @_;
    return $cfg->test_config(http => "    $line\n"
        . "    server { listen 127.0.0.1:%%PORT:gw%%; }\n");
}

my ($ok, $out) = conf_test('integrations_store sqlite:%%DIR%%/t.db;');
ok($ok, 'nginx -t: a SQLite store') or diag $out;
ok(!-e $cfg->dir . '/t.db', '  creates no file');

($ok, $out) = conf_test('integrations_store postgresql://gw@db.invalid:5432'
    . '/gw password_file=%%DIR%%/db.password threads=2 pool=3 timeout=2s'
    . ' connect_timeout=500ms;');
ok($ok, 'nginx -t: PostgreSQL, the server unreachable: it is not asked')
    or diag $out;

for my $case (
    [ 'integrations_store mysql://x;', qr/invalid store URL "mysql:\/\/x"/ ],
    [ 'integrations_store postgresql://gw:pw@h/db;', qr/password_file=/ ],
    [ 'integrations_store postgresql://gw@h/db?sslmode=maybe;', qr/sslmode/ ],
    [ 'integrations_store postgresql://h/db;', qr/names no user/ ],
    [ 'integrations_store sqlite::memory:;', qr/in-memory/ ],
    [ 'integrations_store sqlite:%%DIR%%/t.db threads=0;',
      qr/invalid parameter "threads=0"/ ],
    [ 'integrations_store sqlite:%%DIR%%/t.db pool=65;',
      qr/invalid parameter "pool=65"/ ],
    [ 'integrations_store sqlite:%%DIR%%/t.db timeout=1ms;',
      qr/invalid parameter "timeout=1ms"/ ],
    [ 'integrations_store sqlite:%%DIR%%/t.db wal=off;',
      qr/invalid parameter "wal=off"/ ],
    [ 'integrations_store sqlite:%%DIR%%/t.db password_file=%%DIR%%/db.password;',
      qr/is for PostgreSQL/ ],
    [ 'integrations_store sqlite:%%DIR%%/none/t.db;',
      qr/store's directory ".*none" cannot be used/ ],
    [ 'integrations_store postgresql://gw@h/db password_file=%%DIR%%/nope;',
      qr/nope/ ],
    [ "integrations_store sqlite:%%DIR%%/a.db;\n"
      . "    integrations_store sqlite:%%DIR%%/b.db;", qr/is duplicate/ ],
) {
    my ($line, $want) = @$case;
    ($ok, $out) = conf_test($line);
    ok(!$ok, "nginx -t refuses: $line");
    like($out, $want, '  saying why');
    like($out, qr/\[emerg\]/, '  as emerg') unless $ok;
}

mkdir $cfg->dir . '/open';
chmod 0777, $cfg->dir . '/open';
($ok, $out) = conf_test('integrations_store sqlite:%%DIR%%/open/t.db;');
ok(!$ok && $out =~ /writable by everyone/,
   'nginx -t refuses a directory anyone may write to');
chmod 01777, $cfg->dir . '/open';
($ok, $out) = conf_test('integrations_store sqlite:%%DIR%%/open/t.db;');
ok($ok, '  unless it is sticky, as /tmp') or diag $out;

($ok, $out) = $cfg->test_config(http => "    server {\n"
    . "        listen 127.0.0.1:%%PORT:gw%%;\n"
    . "        integrations_store sqlite:%%DIR%%/t.db;\n    }\n");
ok(!$ok && $out =~ /not allowed here/, 'integrations_store is for http{}');

# ---- per backend -------------------------------------------------------

# each backend's half has its own gateway and stand-ins
Store->each_backend(sub {
    my ($backend) = @_;
    my $t = "[$backend]";
    my $gw = Gateway->new(workers => 2);
    MockProviders->new(gw => $gw)->write_keys($gw);
    my $st = Store->new($backend, $gw);
    my $log_from = length $gw->error_log;
    my $log = sub { substr($gw->error_log, $log_from) };

    $gw->start(http => $st->payments_http);

    my $r = Store::pay($gw, "first-$backend");
    is($r->{status}, 201, "$t an idempotent payment: 201") or diag $r->{body};

    # migrations: each once, in order, by whichever worker came first

    my @rows = $st->sql('SELECT version, name FROM integrations_schema'
                        . ' ORDER BY version');
    is_deeply([map { $_->[0] } @rows], [1 .. $latest],
              "$t migrations 1..$latest applied once each");
    my @ready = $log->() =~ /integrations_store: .* is ready, schema version (\d+)/g;
    is_deeply(\@ready, [$latest], "$t   'ready' logged once, for both workers");
    my $applied = $st->value('SELECT applied_at FROM integrations_schema'
                             . ' WHERE version = 1');

    if ($backend eq 'sqlite') {
        my @st = stat $st->path;
        is($st[2] & 07777, 0600, "$t the database file is 0600");
        is((getpwuid $st[4])[0], $Store::USER,
           "$t   owned by the workers' user");
        for my $sfx ('-wal', '-shm', '-lock') {
            my @s = stat $st->path . $sfx;
            ok(@s && ($s[2] & 07777) == 0600, "$t   $sfx beside it, 0600");
        }
        is($st->value('PRAGMA journal_mode'), 'wal', "$t   in WAL mode");
        is($st->value('PRAGMA integrity_check'), 'ok', "$t   intact");
    }

    # metrics

    my $m = $gw->get('/metrics')->{body};
    like($m, qr/^integrations_store_up\{backend="$backend"\} 1$/m,
         "$t metrics: up");
    like($m, qr/^integrations_store_schema_version $latest$/m,
         "$t   the schema version");
    like($m, qr/^integrations_store_connections\{state="open"\} [1-9]\d*$/m,
         "$t   connections open");
    like($m, qr/^integrations_store_connections\{state="in_use"\} \d+$/m,
         "$t   connections in use");
    like($m, qr/^integrations_store_operations_total\{op="probe",outcome="ok"\} \d+$/m,
         "$t   operations by kind and outcome");
    like($m, qr/^integrations_store_operation_duration_seconds_bucket\{op="idem_begin",le="0.005"\} \d+$/m,
         "$t   a latency histogram");

    # a schema newer than the module: refused, clearly, until it is not

    $st->sql("INSERT INTO integrations_schema (version, name, applied_at)"
             . " VALUES (99, 'from a newer module', 0)");

    my $refused = Store::wait_for(sub {
        Store::pay($gw, "new-$backend")->{status} == 503 });
    ok($refused, "$t a newer schema: idempotent payments get 503");
    $r = Store::pay($gw, "new2-$backend");
    is($r->{status}, 503, "$t   503");
    is($r->{headers}{'content-type'}, 'application/problem+json',
       "$t   problem+json");
    like($r->{json}{type} // '', qr/store_unavailable$/, "$t   store_unavailable");
    ok(($r->{headers}{'retry-after'} // 0) >= 1, "$t   with Retry-After");
    is(Store::pay($gw, undef)->{status}, 201,
       "$t   a payment without a key is not affected");
    like($gw->get('/metrics')->{body},
         qr/^integrations_store_up\{backend="$backend"\} 0$/m,
         "$t   metrics: not up");
    my @why = $log->() =~ /(schema is version 99, newer than this module's $latest: upgrade the module)/g;
    is(scalar @why, 1, "$t   the log says why, once") or diag $log->();

    $st->sql('DELETE FROM integrations_schema WHERE version = 99');

    ok(Store::wait_for(sub {
        Store::pay($gw, "back-$backend")->{status} == 201 }),
       "$t   the schema fixed: it recovers by itself");
    my @back = $log->() =~ /(is available again)/g;
    is(scalar @back, 1, "$t   and says so once");

    # a restart keeps the schema: nothing is applied again

    $gw->stop;
    $gw->start(http => $st->payments_http);
    $r = Store::pay($gw, "first-$backend");
    is($r->{headers}{'idempotent-replayed'}, 'true',
       "$t after a restart the first payment is replayed");
    is($st->value('SELECT applied_at FROM integrations_schema WHERE'
                  . ' version = 1'), $applied,
       "$t   and the migrations were not applied again");
    $gw->stop;
    $gw->{checked} = 0;
});

done_testing;
