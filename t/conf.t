# The shipped configurations pass "nginx -t": conf/demo.conf as make run
# uses it, and conf/nginx.conf with its placeholders and Coupang's host
# pointed at loopback (no DNS in tests).

use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use FindBin;

use Gateway;

my $root = abs_path("$FindBin::Bin/..");
my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $gw = Gateway->new;
my $dir = $gw->dir;

sub nginx_t {
    my (@args) = @_;
    my $out = `$nginx @args -t 2>&1`;
    return ($? == 0, $out);
}

# demo.conf, with the module where the test run built it
my $demo = do { local (@ARGV, $/) = "$root/conf/demo.conf"; <> };
$demo =~ s{load_module\s+\S+;}{load_module $ENV{MODULE};};
$demo =~ s{\.\./build/run/notify/}{$dir/notify/}g;
$demo =~ s{\bfile=templates/}{file=$root/conf/templates/}g;
$demo =~ s{build/run/}{$dir/}g;
mkdir "$dir/notify";
$gw->write_file("notify/$_.key", "demo-$_-key:x\n") for qw(solapi slack);
$demo =~ s{demo-secret.key}{$root/conf/demo-secret.key};
$demo =~ s{demo-webhook.key}{$root/conf/demo-webhook.key};
$demo =~ s{(?<=key_file=)demo-stripe.key}{$root/conf/demo-stripe.key};
$gw->write_file('demo.conf', $demo, 0644);
chmod 0600, "$root/conf/demo-secret.key", "$root/conf/demo-webhook.key",
           "$root/conf/demo-stripe.key";
my ($ok, $out) = nginx_t('-p', "$dir/", '-c', "$dir/demo.conf",
                         '-e', "$dir/error.log");
ok($ok, 'conf/demo.conf passes nginx -t') or diag $out;

# nginx.conf
my $prod = do { local (@ARGV, $/) = "$root/conf/nginx.conf"; <> };
$gw->write_file('coupang.key', "x\n");
$prod =~ s{load_module\s+\S+;}{load_module $ENV{MODULE};};
$prod =~ s{^user\s+\S+;}{}m;
$prod =~ s{/etc/nginx/secrets/coupang.key}{$dir/coupang.key};
$prod =~ s{/run/nginx.pid}{$dir/nginx.pid};
$prod =~ s{/var/log/nginx/}{$dir/}g;
$prod =~ s{(10\.0\.0\.10|203\.0\.113\.10)}{127.0.0.1}g;
$prod =~ s{server\s+api-gateway.coupang.com:443}{server 127.0.0.1:443};
$gw->write_file('nginx.conf', $prod, 0644);
($ok, $out) = nginx_t('-p', "$dir/", '-c', "$dir/nginx.conf",
                      '-e', "$dir/error.log");
ok($ok, 'conf/nginx.conf passes nginx -t') or diag $out;
unlike($out, qr/\[warn\]/, 'without warnings') or diag $out;

done_testing();
