# Bad Coupang directives fail "nginx -t" with a message naming them.

use strict;
use warnings;

use Test::More;

use Gateway;

my $gw = Gateway->new;
my $dir = $gw->dir;

$gw->write_file('good.key', "TEST_SECRET_KEY\n");
$gw->write_file('empty.key', '');
$gw->write_file('blank.key', " \n\n");
$gw->write_file('shared.key', "TEST_SECRET_KEY\n", 0644);
mkdir "$dir/dir.key";

sub conf {
    my ($directives) = @_;
    return <<"CONF";
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        $directives
        location / { proxy_pass http://127.0.0.1:%%PORT:up%%; }
    }
CONF
}

my @bad = (
    [ "coupang_access_key AK; coupang_secret_key_file $dir/missing.key;",
      qr{coupang_secret_key_file "\Q$dir\E/missing.key" cannot be opened},
      'missing secret file' ],
    [ "coupang_access_key AK; coupang_secret_key_file $dir/empty.key;",
      qr{coupang_secret_key_file "\Q$dir\E/empty.key" is empty},
      'empty secret file' ],
    [ "coupang_access_key AK; coupang_secret_key_file $dir/blank.key;",
      qr{coupang_secret_key_file "\Q$dir\E/blank.key" is empty},
      'secret file of white space' ],
    [ "coupang_access_key AK; coupang_secret_key_file $dir/dir.key;",
      qr{coupang_secret_key_file "\Q$dir\E/dir.key" is not a regular file},
      'directory as secret file' ],
    [ "coupang_secret_key_file $dir/good.key; coupang_sign on;",
      qr{"coupang_sign" requires "coupang_access_key" and },
      'signing without an access key' ],
    [ "coupang_access_key AK; coupang_sign on;",
      qr{"coupang_sign" requires .*"coupang_secret_key_file"},
      'signing without a secret' ],
    [ 'coupang_access_key "a,b";',
      qr{invalid value "a,b" in "coupang_access_key" directive},
      'access key with a comma' ],
    [ 'coupang_access_key "a b";',
      qr{invalid value "a b" in "coupang_access_key" directive},
      'access key with a space' ],
    [ 'coupang_vendor_id "A0\"1";',
      qr{invalid value "A0"1" in "coupang_vendor_id" directive},
      'vendor id with a quote' ],
    [ 'coupang_vendor_id "";',
      qr{invalid value "" in "coupang_vendor_id" directive},
      'empty vendor id' ],
    [ 'coupang_access_key A; coupang_access_key B;',
      qr{"coupang_access_key" directive is duplicate},
      'access key twice' ],
    [ "coupang_secret_key_file $dir/good.key;"
      . " coupang_secret_key_file $dir/good.key;",
      qr{"coupang_secret_key_file" directive is duplicate},
      'secret file twice' ],
    [ 'coupang_sign maybe;',
      qr{invalid value "maybe" in "coupang_sign" directive},
      'coupang_sign neither on nor off' ],
    [ 'coupang_sign;',
      qr{invalid number of arguments in "coupang_sign" directive},
      'coupang_sign without a value' ],
);

for my $case (@bad) {
    my ($directives, $re, $name) = @$case;
    my ($passed, $out) = $gw->test_config(http => conf($directives));
    ok(!$passed, "$name: nginx -t fails");
    like($out, $re, "$name: message names it") or diag $out;
    unlike($out, qr/TEST_SECRET_KEY/, "$name: no secret in the output");
}

SKIP: {
    skip 'root reads any file', 2 if $> == 0;
    $gw->write_file('locked.key', "x\n", 0000);
    my ($passed, $out) = $gw->test_config(http => conf(
        "coupang_access_key AK; coupang_secret_key_file $dir/locked.key;"));
    ok(!$passed, 'unreadable secret file: nginx -t fails');
    like($out, qr{locked.key" cannot be opened .*Permission denied},
         'unreadable secret file: message names it');
}

my ($passed, $out) = $gw->test_config(http => conf(
    "coupang_access_key AK; coupang_secret_key_file $dir/shared.key;"
    . " coupang_sign on;"));
ok($passed, 'a secret others may read is accepted') or diag $out;
like($out, qr{\[warn\].*"\Q$dir\E/shared.key" is accessible by others},
     'with a warning naming the file');

($passed, $out) = $gw->test_config(http => conf(
    "coupang_access_key AK; coupang_secret_key_file good.key;"
    . " coupang_vendor_id A00012345; coupang_sign on;"));
ok($passed, 'a relative path is relative to the configuration directory')
    or diag $out;

($passed, $out) = $gw->test_config(http => conf(
    "coupang_access_key AK; coupang_secret_key_file $dir/good.key;"
    . " coupang_vendor_id A00012345; coupang_sign on;"));
ok($passed, 'a good configuration passes') or diag $out;
unlike($out, qr/\[warn\]/, 'without warnings');

# Where proxy_pass takes its host from variables, the client may choose
# where a signature goes: nginx -t refuses unless coupang_sign_hosts says
# which hosts may receive one.

sub dest_conf {
    my ($server, $location) = @_;
    return <<"CONF";
    upstream coupang { server 127.0.0.1:%%PORT:up%%; }
    upstream internal_app { server 127.0.0.1:%%PORT:up%%; }

    coupang_access_key       AK;
    coupang_secret_key_file  $dir/good.key;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        $server
        location /hv/ { $location }
        location /lit/ { proxy_pass https://localhost; }
        location /ret/ { return 200; }
        location = /metrics { integrations_status; }
    }
CONF
}

my @dest_bad = (
    [ '', 'coupang_sign on; proxy_pass http://$http_x_up;',
      qr{"coupang_sign" in location "/hv/" would sign for a host that "proxy_pass" takes from variables.*"coupang_sign_hosts"},
      'proxy_pass host from a header' ],
    [ 'coupang_sign on;', 'proxy_pass https://$host;',
      qr{"coupang_sign" in location "/hv/" would sign for a host},
      'coupang_sign inherited by a proxy_pass with $host' ],
    [ '', 'coupang_sign on; proxy_pass http://coupang;'
          . ' if ($arg_x) { proxy_pass http://$arg_x; }',
      qr{"coupang_sign" in location "/hv/" would sign for a host},
      'proxy_pass with variables inside "if"' ],
    [ 'coupang_sign on;', 'proxy_pass http://coupang/$1;',
      qr{"coupang_sign" in location "/hv/" would sign for a host},
      'variables in the URI only: nginx looks the host up at run time' ],
    [ '', 'coupang_sign on; coupang_sign_hosts nowhere;'
          . ' proxy_pass http://$http_x_up;',
      qr{"coupang_sign_hosts" "nowhere" is not an upstream \(an "upstream" block, or the host of a literal "proxy_pass"\)},
      'an allowed host that is no upstream' ],
    [ 'coupang_sign_hosts coupang:8080;', '',
      qr{"coupang_sign_hosts" "coupang:8080" is not an upstream},
      'an upstream block with a port' ],
    [ '', 'coupang_sign_hosts http://coupang;',
      qr{invalid host "http://coupang" in "coupang_sign_hosts" directive},
      'a URL as host' ],
    [ '', 'coupang_sign_hosts coupang/v2;',
      qr{invalid host "coupang/v2" in "coupang_sign_hosts" directive},
      'a host with a path' ],
    [ '', 'coupang_sign_hosts coupang:0;',
      qr{invalid host "coupang:0" in "coupang_sign_hosts" directive, invalid port},
      'port 0' ],
    [ '', 'coupang_sign_hosts coupang:65536;',
      qr{invalid host "coupang:65536" in "coupang_sign_hosts" directive},
      'port out of range' ],
    [ '', 'coupang_sign_hosts unix:/tmp/x.sock;',
      qr{invalid host "unix:/tmp/x.sock" in "coupang_sign_hosts" directive},
      'a UNIX socket' ],
    [ '', 'coupang_sign_hosts "coup ang";',
      qr{invalid host "coup ang" in "coupang_sign_hosts" directive},
      'a host with a space' ],
    [ '', 'coupang_sign_hosts "";',
      qr{invalid host "" in "coupang_sign_hosts" directive},
      'an empty host' ],
    [ '', 'coupang_sign_hosts coupang; coupang_sign_hosts coupang;',
      qr{"coupang_sign_hosts" directive is duplicate},
      'coupang_sign_hosts twice' ],
    [ '', 'coupang_sign_hosts;',
      qr{invalid number of arguments in "coupang_sign_hosts" directive},
      'coupang_sign_hosts without a host' ],
);

for my $case (@dest_bad) {
    my ($server, $location, $re, $name) = @$case;
    my ($passed, $out) = $gw->test_config(http => dest_conf($server,
                                                            $location));
    ok(!$passed, "$name: nginx -t fails");
    like($out, $re, "$name: message names it") or diag $out;
}

my @dest_good = (
    [ '', 'coupang_sign on; coupang_sign_hosts coupang;'
          . ' proxy_pass http://$http_x_up;',
      'proxy_pass host from a header, allowed hosts listed' ],
    [ 'coupang_sign on; coupang_sign_hosts COUPANG localhost;',
      'proxy_pass https://$host;',
      'allowed hosts inherited; an implicit upstream; any case' ],
    [ 'coupang_sign on; coupang_sign_hosts coupang;',
      'proxy_pass http://coupang/$1;',
      'variables only in the URI, the host listed' ],
    [ 'coupang_sign on;', 'proxy_pass http://127.0.0.1:%%PORT:up%%;',
      'coupang_sign inherited by literal, return and status locations' ],
    [ '', 'proxy_pass http://$http_x_up;',
      'variables where nothing is signed' ],
);

for my $case (@dest_good) {
    my ($server, $location, $name) = @$case;
    my ($passed, $out) = $gw->test_config(http => dest_conf($server,
                                                            $location));
    ok($passed, "$name: nginx -t passes") or diag $out;
}

done_testing();
