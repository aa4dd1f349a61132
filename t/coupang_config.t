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

done_testing();
