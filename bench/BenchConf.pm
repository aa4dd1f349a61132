package BenchConf;

# What the benchmarks run: one gateway configuration with a location per
# feature, all proxying to the same local upstream, and the cases that are
# compared with bare proxy_pass.  bench/run measures requests/s with wrk,
# bench/instructions the gateway's instructions per request.

use strict;
use warnings;

sub upstream {
    return <<'CONF';
    access_log off;
    server {
        listen 127.0.0.1:%%PORT:up%% backlog=4096;
        keepalive_requests 1000000;
        location / { return 200 "ok\n"; }
    }
CONF
}

# files the gateway's configuration refers to
sub prepare {
    my ($gw) = @_;
    $gw->write_file('coupang.key', "BENCH_SECRET_KEY\n");
}

sub gateway {
    my ($upstream_port) = @_;
    return <<"CONF";
    access_log off;

    upstream backend {
        server 127.0.0.1:$upstream_port;
        keepalive 64;
        keepalive_requests 1000000;
    }

    # never rejects: far above what one loopback client reaches
    rate_limit_zone  \$binary_remote_addr zone=rl:10m rate=1000000r/s
                     burst=100000;
    limit_req_zone   \$binary_remote_addr zone=lr:10m rate=1000000r/s;
    circuit_breaker_zone  zone=cb:1m;

    coupang_access_key       bench-access-key;
    coupang_secret_key_file  %%DIR%%/coupang.key;
    coupang_vendor_id        A00012345;

    proxy_http_version  1.1;
    proxy_set_header    Connection "";

    server {
        listen 127.0.0.1:%%PORT:gw%% backlog=4096;
        keepalive_requests 1000000;

        location /bare/ {
            proxy_pass http://backend;
        }

        location /coupang/ {
            coupang_sign on;
            proxy_pass http://backend;
        }

        location /rate_limit/ {
            rate_limit zone=rl;
            proxy_pass http://backend;
        }

        location /limit_req/ {
            limit_req zone=lr burst=100000 nodelay;
            proxy_pass http://backend;
        }

        location /circuit_breaker/ {
            circuit_breaker zone=cb;
            proxy_pass http://backend;
        }
    }
CONF
}

my $orders = '/v2/providers/openapi/apis/api/v4/vendors/A00012345/'
           . 'ordersheets?createdAtFrom=2024-01-01&status=ACCEPT';

# [ name, path, wrk lua script or undef, body or undef, extra headers ]
# The first case is the baseline the others are compared with.
sub cases {
    return (
        [ 'bare',            "/bare$orders" ],
        [ 'coupang_sign',    "/coupang$orders" ],
        [ 'rate_limit',      "/rate_limit$orders" ],
        [ 'limit_req',       "/limit_req$orders" ],
        [ 'circuit_breaker', "/circuit_breaker$orders" ],
    );
}

1;
