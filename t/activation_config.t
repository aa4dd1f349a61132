# Bad activation directives fail "nginx -t" with a message naming the
# directive and the parameter; a good configuration passes.

use strict;
use warnings;

use FindBin;
use Test::More;

use Activation;
use Gateway;
use Store;

my $gw = Gateway->new;
my $dir = $gw->dir;
my $whsec = Activation::keys($gw);
$gw->write_file('short.claim', 'too-short-for-hs256');
$gw->write_file('bad.grant', "not-a-whsec\n");
$gw->write_file('bad.keys', "short\n");
$gw->write_file('none.keys', "# nobody\n");

my $st = Store->new('sqlite', $gw);
my $store = $st->directive;
my $grant = "activation_grant http://127.0.0.1:9/grants"
          . " secret_file=$dir/grant.key;";
my $redirect = "activation_redirect solve://activate"
             . " secret_file=$dir/claim.key;";

sub conf {
    my ($http, $loc) = @_;
    return <<"CONF";
$http
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /a/ { $loc }
    }
CONF
}

my @good = (
    [ "$store $grant $redirect", 'activation_api;', 'api, grant, redirect' ],
    [ "$store $grant", 'activation_api;', 'no redirect: the done page' ],
    [ "$store activation_grant https://s.example/g secret_file=$dir/grant.key"
      . " attempts=5 timeout=750ms;", 'activation_api;',
      'attempts and timeout' ],
    [ "$store", "activation_admin key_file=$dir/admin.keys;", 'admin' ],
    # the zones may come after the directive that names them
    [ "$store activation_grant https://s.example/g secret_file=$dir/grant.key"
      . " rate_limit=grants circuit_breaker=sellers failures=3 open=10s;"
      . " rate_limit_zone \$binary_remote_addr zone=grants:64k rate=10r/s;"
      . " circuit_breaker_zone zone=sellers:64k;", 'activation_api;',
      'grant: rate_limit= and circuit_breaker=' ],
);

# the README's example, with this test's files
{
    open my $fh, '<', "$FindBin::Bin/../README.md" or die "README.md: $!";
    local $/;
    my $readme = <$fh>;
    my ($ex) = $readme =~ /<!-- activation example[^\n]*\n(.*?)<!-- end of activation example -->/s;
    ok($ex, 'the README has the example');
    $ex =~ s/^    //mg;
    my $url = $st->url;
    $ex =~ s{sqlite:/var/lib/nginx/integrations/store\.db}{$url};
    $ex =~ s{/etc/nginx/secrets/grant\.whsec}{$dir/grant.key};
    $ex =~ s{/etc/nginx/secrets/claim\.key}{$dir/claim.key};
    $ex =~ s{/etc/nginx/secrets/admin\.keys}{$dir/admin.keys};
    $ex =~ s{listen 443 ssl;}{listen 127.0.0.1:%%PORT:gw%%;};
    push @good, [ $ex, undef, "the README's example" ];
}

for my $g (@good) {
    my ($ok, $out) = $gw->test_config(http => defined $g->[1]
                                             ? conf($g->[0], $g->[1])
                                             : $g->[0]);
    ok($ok, "passes: $g->[2]") or diag($out);
}

my @bad = (
    [ "$store", 'activation_api;',
      qr/"activation_api" requires "activation_grant"/, 'api without grant' ],
    [ "$grant", 'activation_api;',
      qr/"activation_api" requires "integrations_store"/,
      'api without a store' ],
    [ "$store $grant", 'activation_api; activation_api;',
      qr/"activation_api" directive is duplicate/, 'api twice' ],
    [ "$store activation_grant ftp://x/g secret_file=$dir/grant.key;",
      'activation_api;', qr/"activation_grant" invalid URL "ftp:\/\/x\/g"/,
      'grant: not http' ],
    [ "$store activation_grant http://127.0.0.1/g;", 'activation_api;',
      qr/invalid number of arguments in "activation_grant"/,
      'grant: no secret' ],
    [ "$store activation_grant http://127.0.0.1/g x=1;", 'activation_api;',
      qr/"activation_grant" invalid parameter "x=1"/, 'grant: unknown' ],
    [ "$store activation_grant http://127.0.0.1/g attempts=2;",
      'activation_api;', qr/"activation_grant" requires "secret_file=PATH"/,
      'grant: no secret_file' ],
    [ "$store activation_grant http://127.0.0.1/g secret_file=$dir/grant.key"
      . " attempts=0;", 'activation_api;',
      qr/"activation_grant" invalid attempts "attempts=0"/, 'attempts=0' ],
    [ "$store activation_grant http://127.0.0.1/g secret_file=$dir/grant.key"
      . " timeout=2m;", 'activation_api;',
      qr/"activation_grant" invalid timeout "timeout=2m"/, 'timeout=2m' ],
    [ "$store activation_grant http://127.0.0.1/g"
      . " secret_file=$dir/missing.key;", 'activation_api;',
      qr/missing\.key/, 'grant: a missing secret file' ],
    [ "$store activation_grant http://127.0.0.1/g"
      . " secret_file=$dir/bad.grant;", 'activation_api;',
      qr/"activation_grant" secret_file "\Q$dir\E\/bad\.grant": /,
      'grant: not a whsec_ secret' ],
    [ "$store activation_grant http://127.0.0.1/g secret_file=$dir/grant.key"
      . " rate_limit=nope;", 'activation_api;',
      qr/"activation_grant": rate_limit_zone "nope" is unknown/,
      'grant: an unknown rate_limit zone' ],
    [ "$store activation_grant http://127.0.0.1/g secret_file=$dir/grant.key"
      . " circuit_breaker=nope;", 'activation_api;',
      qr/"activation_grant": circuit_breaker_zone "nope" is unknown/,
      'grant: an unknown circuit_breaker zone' ],
    [ "$store activation_grant http://127.0.0.1/g secret_file=$dir/grant.key"
      . " rate_limit=;", 'activation_api;',
      qr/"activation_grant" invalid parameter "rate_limit="/,
      'grant: rate_limit= without a zone' ],
    [ "$store activation_grant http://127.0.0.1/g secret_file=$dir/grant.key"
      . " failures=3;", 'activation_api;',
      qr/"activation_grant" parameter "failures=3" needs "circuit_breaker="/,
      'grant: a breaker parameter without a breaker' ],
    [ "$store $grant activation_redirect \"solve://a b\""
      . " secret_file=$dir/claim.key;", 'activation_api;',
      qr/"activation_redirect" invalid URL "solve:\/\/a b"/,
      'redirect: a space' ],
    [ "$store $grant activation_redirect https://a.example/x#f"
      . " secret_file=$dir/claim.key;", 'activation_api;',
      qr/"activation_redirect" invalid URL/, 'redirect: a fragment' ],
    [ "$store $grant activation_redirect solve://a"
      . " secret_file=$dir/short.claim;", 'activation_api;',
      qr/"activation_redirect" secret_file .* at least 32 bytes/,
      'redirect: a short key' ],
    [ "$store $grant activation_redirect solve://a"
      . " secret_file=$dir/claim.key ttl=2h;", 'activation_api;',
      qr/"activation_redirect" invalid ttl "ttl=2h"/, 'redirect: ttl=2h' ],
    [ "$store $grant activation_redirect solve://a ttl=1m;",
      'activation_api;',
      qr/"activation_redirect" requires "secret_file=PATH"/,
      'redirect: no secret_file' ],
    [ "$store", 'activation_admin keys=x;',
      qr/"activation_admin" invalid parameter "keys=x"/,
      'admin: not key_file=' ],
    [ "$store", "activation_admin key_file=$dir/bad.keys;",
      qr/"activation_admin" key_file "\Q$dir\E\/bad\.keys": line 1: /,
      'admin: a short key' ],
    [ "$store", "activation_admin key_file=$dir/none.keys;",
      qr/"activation_admin" key_file .*: no key in the file/,
      'admin: no key' ],
    [ "", "activation_admin key_file=$dir/admin.keys;",
      qr/"activation_admin" requires "integrations_store"/,
      'admin without a store' ],
);

for my $b (@bad) {
    my ($ok, $out) = $gw->test_config(http => conf($b->[0], $b->[1]));
    ok(!$ok, "fails: $b->[3]");
    like($out, $b->[2], "...naming it: $b->[3]");
    unlike($out, qr/\Q$whsec\E|\Q$Activation::CLAIM_KEY\E|not-a-whsec/,
           "...without the secret");
}

done_testing();
