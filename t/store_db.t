# The store's unit tests of its operations (t/unit/test_store_db.c,
# t/unit/test_store_outbox.c, t/unit/test_store_orders.c) on PostgreSQL:
# "make unit" runs them on SQLite only; here they get the test run's
# PostgreSQL server (t/lib/Store.pm), as the superuser over its unix
# socket.

use strict;
use warnings;

use FindBin;
use Test::More;

use lib "$FindBin::Bin/lib";
use Store;

my @bins = grep { -x } map { "$FindBin::Bin/../build/unit/$_" }
           qw(test_store_db test_store_outbox test_store_orders);

plan skip_all => 'the unit tests are not built (make unit)' unless @bins;
plan skip_all => 'PostgreSQL is not among STORE_BACKENDS'
    unless grep { $_ eq 'postgresql' } Store->backends;

my $pg = Store::pg_server();
my $dir = $pg->{dir};
(my $enc = $dir) =~ s{([^A-Za-z0-9._~-])}{sprintf '%%%02X', ord $1}ge;

my $n = 0;

for my $bin (@bins) {
    my $db = 'unit_' . ++$n;
    Store::psql('postgres', "CREATE DATABASE $db");
    local $ENV{STORE_TEST_PG} = "postgresql://postgres\@$enc:5432/$db";
    my $out = `$bin 2>&1`;
    my $rc = $?;
    my @not = grep { /^not ok/ } split /\n/, $out;
    my ($plan) = $out =~ /^1\.\.(\d+)$/m;
    ok($rc == 0 && !@not && $plan, "$bin on PostgreSQL: $plan checks")
        or diag $out;
    like($out, qr/\[postgresql\]/, "  the PostgreSQL suite ran");
}

done_testing();
