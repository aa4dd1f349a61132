# The dedupe zone when it is full: the oldest entries are evicted, which
# is logged once, and the newest deliveries are still recognised.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(hmac_sha256_hex);

use Gateway;
use MockServer;

my $SECRET = 'github-dedupe-test-secret';

my $gw = Gateway->new;
$gw->write_file('github.key', "$SECRET\n");

my $up = MockServer->new(port => $gw->port('up'), handler => sub {
    return (200, {}, "ok\n");
});

# 8 pages: the smallest zone, a few hundred entries
my $conf = <<'CONF';
    webhook_dedupe_zone zone=tiny:32k ttl=1h;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /hook {
            webhook_verify github secret_file=%%DIR%%/github.key dedupe=tiny;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
        location = /status { integrations_status; }
    }
CONF
$gw->start(http => $conf);

sub deliver {
    my ($n) = @_;
    my $id = sprintf('%08d-aaaa-bbbb-cccc-%012d', $n, $n);
    my $body = qq({"n":$n});
    return $gw->request('POST', '/hook', body => $body, headers => {
        'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $SECRET),
        'X-GitHub-Delivery' => $id });
}

my $N = 600;
my $ok = 0;
for my $n (1 .. $N) {
    $ok++ if deliver($n)->{status} == 200;
}
is($ok, $N, "$N distinct deliveries pass");

my @log = grep { /is full, evicting/ } split /\n/, $gw->error_log;
is(scalar @log, 1, 'a full zone is logged once');
like($log[0] // '', qr/\[warn\].*webhook_dedupe_zone "tiny" is full/,
     'at warn, naming the zone');

is(deliver($N)->{body}, qq({"status":"replayed"}\n),
   'the newest delivery is still recognised');

$up->clear;
my $r = deliver(1);
is($r->{body}, "ok\n", 'the oldest was evicted: its copy reaches the upstream');

# the marks and the counters are kept across a reload

my ($replayed) = $gw->get('/status')->{body}
    =~ /^integrations_webhook_replayed_total\{provider="github"\} (\d+)$/m;
$gw->reload(http => $conf);
is(deliver($N)->{body}, qq({"status":"replayed"}\n),
   'reload: the newest delivery is still recognised');
my ($after) = $gw->get('/status')->{body}
    =~ /^integrations_webhook_replayed_total\{provider="github"\} (\d+)$/m;
is($after, ($replayed // 0) + 1, 'reload: the counters went on');

$gw->stop;

# the minimum size: 32k, as above; a page less fails nginx -t, saying so

my ($passed, $out) = $gw->test_config(http => <<'CONF');
    webhook_dedupe_zone zone=small:31k;
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /hook {
            webhook_verify github secret_file=%%DIR%%/github.key dedupe=small;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
    }
CONF
ok(!$passed, 'a 31k zone fails nginx -t');
like($out, qr{zone "small" is too small, the minimum is 32k},
     'naming the zone and the minimum');

done_testing();
