# conf/nginx.conf, the production template, started as shipped (its
# addresses moved to loopback: the gateway's to 127.0.0.2, which is not
# the 127.0.0.1 its allow lists name): a Prometheus on the same host
# scrapes the metrics where the template says.

use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use FindBin;

use Gateway;

package ShippedGateway {
    our @ISA = ('Gateway');
    sub config { $_[0]{shipped} }
}

my $root = abs_path("$FindBin::Bin/..");
my $gw = ShippedGateway->new;
my $dir = $gw->dir;

$gw->write_file('coupang.key', "TEST_SECRET_KEY\n");

my $conf = do { local (@ARGV, $/) = "$root/conf/nginx.conf"; <> };

like($conf, qr/^\s*listen\s+127\.0\.0\.1:9145;/m,
     'the template serves metrics on 127.0.0.1:9145');

$conf =~ s{load_module\s+\S+;}{load_module $ENV{MODULE};};
$conf =~ s{^user\s+\S+;}{}m;
$conf =~ s{/etc/nginx/secrets/coupang.key}{$dir/coupang.key};
$conf =~ s{/run/nginx.pid}{$dir/nginx.pid};
$conf =~ s{/var/log/nginx/}{$dir/}g;
$conf =~ s{worker_connections\s+\d+;}{worker_connections 256;};
$conf =~ s{10\.0\.0\.10:8080}{'127.0.0.2:' . $gw->port('gateway')}ge;
$conf =~ s{10\.0\.0\.10:3128}{'127.0.0.2:' . $gw->port('proxy')}ge;
$conf =~ s{127\.0\.0\.1:9145}{'127.0.0.1:' . $gw->port('metrics')}ge;
$conf =~ s{203\.0\.113\.10}{127.0.0.1}g;
$conf =~ s{server\s+api-gateway.coupang.com:443}{server 127.0.0.1:443};
$gw->{shipped} = $conf;

$gw->start(wait_for => ['metrics']);

my $r = $gw->get('/metrics', port => $gw->port('metrics'));
is($r->{status}, 200, 'a local scrape of /metrics is answered');
is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4',
   'in Prometheus text');
like($r->{body}, qr/^integrations_coupang_signed_requests_total 0$/m,
     'with the signing counter');

is($gw->get('/', port => $gw->port('metrics'))->{status}, 404,
   'nothing else on the metrics listener');

$gw->stop;

done_testing();
