# Bad rate_limit, circuit_breaker and integrations_status directives fail
# "nginx -t" with a message naming them; good ones pass.

use strict;
use warnings;

use Test::More;

use Gateway;

my $gw = Gateway->new;

sub conf {
    my ($http, $loc) = @_;
    $loc //= '';
    return <<"CONF";
    $http
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location / {
            $loc
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }
    }
CONF
}

my $Z = 'rate_limit_zone $binary_remote_addr zone=z:1m rate=10r/s;';
my $B = 'circuit_breaker_zone zone=b:1m;';

my @bad = (
    # rate_limit_zone
    [ 'rate_limit_zone $binary_remote_addr zone=z:1m rate=10r/h;', '',
      qr{invalid rate "rate=10r/h": invalid rate}, 'rate per hour' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:1m rate=0r/s;', '',
      qr{invalid rate "rate=0r/s": rate must be positive}, 'zero rate' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:1m rate=abc;', '',
      qr{invalid rate "rate=abc"}, 'junk rate' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:1m rate=2000000r/s;', '',
      qr{invalid rate "rate=2000000r/s": rate is too large}, 'huge rate' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:1m;', '',
      qr{"rate_limit_zone" must have "rate" parameter}, 'no rate' ],
    [ 'rate_limit_zone $binary_remote_addr rate=1r/s;', '',
      qr{"rate_limit_zone" must have "zone" parameter}, 'no zone' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z rate=1r/s;', '',
      qr{invalid zone size "zone=z"}, 'zone without size' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:1k rate=1r/s;', '',
      qr{zone "zone=z:1k" is too small}, 'zone too small' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:31k rate=1r/s;', '',
      qr{zone "zone=z:31k" is too small, the minimum is 32k},
      'zone a page short of the minimum' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:1m rate=1r/s burst=x;', '',
      qr{invalid burst value "burst=x"}, 'bad burst' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:1m rate=1r/s burst=-1;', '',
      qr{invalid burst value "burst=-1"}, 'negative burst' ],
    [ 'rate_limit_zone $binary_remote_addr zone=z:1m rate=1r/s bogus=1;', '',
      qr{invalid parameter "bogus=1"}, 'unknown parameter' ],
    [ "$Z rate_limit_zone \$host zone=z:1m rate=1r/s;", '',
      qr{rate_limit_zone "z" is already bound to key "\$binary_remote_addr"},
      'zone declared twice' ],
    # rate_limit
    [ $Z, 'rate_limit zone=nope;',
      qr{"rate_limit" zone "nope" is unknown}, 'unknown zone' ],
    [ $Z, 'rate_limit delay;',
      qr{"rate_limit" must have "zone" parameter}, 'rate_limit without zone' ],
    [ $Z, 'rate_limit zone=z later;',
      qr{invalid parameter "later"}, 'rate_limit bad mode' ],
    [ $Z, 'rate_limit zone=z; rate_limit zone=z delay;',
      qr{"rate_limit" directive is duplicate}, 'same zone twice' ],
    [ $Z, 'rate_limit zone=z; rate_limit_status 200;',
      qr{invalid value "200" in "rate_limit_status" directive, it must be a status from 400 to 599},
      'rate_limit_status 200' ],
    [ $Z, 'rate_limit zone=z; rate_limit_status abc;',
      qr{invalid value "abc" in "rate_limit_status" directive},
      'rate_limit_status junk' ],
    [ $Z, 'rate_limit_headers maybe;',
      qr{invalid value "maybe" in "rate_limit_headers" directive, it must be "on", "off" or "legacy"},
      'rate_limit_headers junk' ],
    # circuit_breaker_zone
    [ 'circuit_breaker_zone b:1m;', '',
      qr{invalid parameter "b:1m"}, 'breaker zone without zone=' ],
    [ 'circuit_breaker_zone zone=b;', '',
      qr{invalid zone size "zone=b"}, 'breaker zone without size' ],
    [ 'circuit_breaker_zone zone=b:1k;', '',
      qr{zone "zone=b:1k" is too small}, 'breaker zone too small' ],
    [ 'circuit_breaker_zone zone=b:31k;', '',
      qr{zone "zone=b:31k" is too small, the minimum is 32k},
      'breaker zone a page short of the minimum' ],
    [ "$B $B", '',
      qr{duplicate zone "b"}, 'breaker zone twice' ],
    # circuit_breaker
    [ $B, 'circuit_breaker zone=nope;',
      qr{"circuit_breaker" zone "nope" is unknown}, 'unknown breaker zone' ],
    [ $B, 'circuit_breaker failures=3;',
      qr{"circuit_breaker" must have "zone" parameter}, 'no breaker zone' ],
    [ $B, 'circuit_breaker zone=b failures=x;',
      qr{invalid value "failures=x" in "circuit_breaker" directive},
      'bad failures' ],
    [ $B, 'circuit_breaker zone=b open=soon;',
      qr{invalid value "open=soon" in "circuit_breaker" directive},
      'bad open time' ],
    [ $B, 'circuit_breaker zone=b failure_rate=150;',
      qr{failure_rate must be a percentage from 0 to 100 in "circuit_breaker" directive},
      'failure rate above 100' ],
    [ $B, 'circuit_breaker zone=b open=60s max_open=30s;',
      qr{max_open must not be less than the open time in "circuit_breaker" directive},
      'max_open below open' ],
    [ $B, 'circuit_breaker zone=b half_open=0;',
      qr{half_open must be positive in "circuit_breaker" directive}, 'half_open 0' ],
    [ $B, 'circuit_breaker zone=b window=5ms;',
      qr{window must be at least 10ms in "circuit_breaker" directive}, 'tiny window' ],
    [ $B, 'circuit_breaker zone=b colour=red;',
      qr{invalid parameter "colour=red"}, 'unknown breaker parameter' ],
    [ $B, 'circuit_breaker zone=b; circuit_breaker zone=b;',
      qr{"circuit_breaker" directive is duplicate}, 'breaker twice' ],
    [ $B, 'circuit_breaker_failure_statuses 500 6000;',
      qr{invalid value "6000" in "circuit_breaker_failure_statuses"},
      'bad failure status' ],
    [ $B, 'circuit_breaker_status 302;',
      qr{invalid value "302" in "circuit_breaker_status" directive},
      'breaker status 302' ],
    [ $Z, 'rate_limit_status 429; rate_limit_status 503;',
      qr{"rate_limit_status" directive is duplicate}, 'status twice' ],
    # integrations_status
    [ '', 'integrations_status on;',
      qr{invalid number of arguments in "integrations_status" directive},
      'integrations_status with an argument' ],
);

for my $case (@bad) {
    my ($http, $loc, $re, $name) = @$case;
    my ($passed, $out) = $gw->test_config(http => conf($http, $loc));
    ok(!$passed, "$name: nginx -t fails");
    like($out, $re, "$name: message names it") or diag $out;
}

my ($passed, $out) = $gw->test_config(http => conf(
    "$Z $B rate_limit_zone coupang zone=c:64k rate=600r/m burst=5;"
    . ' circuit_breaker_failure_statuses 500 502 503 504 429;',
    'rate_limit zone=z; rate_limit zone=c delay; rate_limit_status 503;'
    . ' rate_limit_headers legacy;'
    . ' circuit_breaker zone=b key=$host failures=0 failure_rate=50'
    . ' window=10s min_calls=20 slow=2s open=30s max_open=300s half_open=2;'
    . ' circuit_breaker_status 503;'));
ok($passed, 'a full configuration passes') or diag $out;
unlike($out, qr/\[warn\]/, 'without warnings');

# the documented minimum, 32k, is enough
($passed, $out) = $gw->test_config(http => conf(
    'rate_limit_zone $binary_remote_addr zone=z:32k rate=10r/s;'
    . ' circuit_breaker_zone zone=b:32k;',
    'rate_limit zone=z; circuit_breaker zone=b;'));
ok($passed, 'zones of exactly 32k pass') or diag $out;

done_testing();
