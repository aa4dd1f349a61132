package BenchConf;

# What the benchmarks run: one gateway configuration with a location per
# feature, all proxying to the same local upstream, and the cases that are
# compared with bare proxy_pass.  bench/run measures requests/s with wrk,
# bench/instructions the gateway's instructions per request.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex);

my $stripe_secret = 'whsec_BENCH_STRIPE_SECRET';

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
    $gw->write_file('stripe.key', "$stripe_secret\n");
}

# $redis: the URL of a Redis for the scope=cluster cases (bench/run and
# bench/instructions start one)
sub gateway {
    my ($upstream_port, $redis) = @_;
    my $cluster = !$redis ? '' : <<"CONF";
    integrations_redis  $redis  timeout=1s;
    rate_limit_zone  \$binary_remote_addr zone=rlc:10m rate=1000000r/s
                     burst=100000 scope=cluster on_error=reject;
    rate_limit_zone  \$binary_remote_addr zone=rls:10m rate=1000000r/s
                     burst=100000 scope=cluster sync=100ms on_error=reject;
CONF
    return $cluster . <<"CONF";
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

        # 64 KB bodies stay in memory, with and without verification
        client_body_buffer_size 128k;

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

        location /rate_limit_cluster/ {
            rate_limit zone=rlc;
            proxy_pass http://backend;
        }

        location /rate_limit_sync/ {
            rate_limit zone=rls;
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

        # tolerance=1h: the deliveries are signed once, when the bench
        # starts; no dedupe, or every copy after the first is a replay
        location /webhook/ {
            webhook_verify stripe secret_file=%%DIR%%/stripe.key
                           tolerance=1h;
            proxy_pass http://backend;
        }
    }
CONF
}

my $orders = '/v2/providers/openapi/apis/api/v4/vendors/A00012345/'
           . 'ordersheets?createdAtFrom=2024-01-01&status=ACCEPT';

# A Stripe delivery of the given size, signed now.
sub stripe_delivery {
    my ($size) = @_;
    my $head = '{"id":"evt_bench","object":"event","data":"';
    my $body = $head . ('x' x ($size - length($head) - 2)) . '"}';
    my $t = time;
    my $sig = hmac_sha256_hex("$t.$body", $stripe_secret);
    return ($body, { 'Content-Type' => 'application/json',
                     'Stripe-Signature' => "t=$t,v1=$sig" });
}

# { name, path, body (POST) or undef, headers, baseline: the case the ratio
# is taken to, bare proxy_pass of the same request }
sub cases {
    my @wh1k = stripe_delivery(1024);
    my @wh64k = stripe_delivery(65536);

    return (
        { name => 'bare',            path => "/bare$orders" },
        { name => 'coupang_sign',    path => "/coupang$orders" },
        { name => 'rate_limit',      path => "/rate_limit$orders" },
        { name => 'rate_limit_cluster', path => "/rate_limit_cluster$orders",
          redis => 1 },
        { name => 'rate_limit_sync', path => "/rate_limit_sync$orders",
          redis => 1 },
        { name => 'limit_req',       path => "/limit_req$orders" },
        { name => 'circuit_breaker', path => "/circuit_breaker$orders" },
        { name => 'bare_post_1k',    path => '/bare/hooks/stripe',
          body => $wh1k[0], headers => $wh1k[1],
          baseline => 'bare_post_1k' },
        { name => 'webhook_1k',      path => '/webhook/hooks/stripe',
          body => $wh1k[0], headers => $wh1k[1],
          baseline => 'bare_post_1k' },
        { name => 'bare_post_64k',   path => '/bare/hooks/stripe',
          body => $wh64k[0], headers => $wh64k[1],
          baseline => 'bare_post_64k' },
        { name => 'webhook_64k',     path => '/webhook/hooks/stripe',
          body => $wh64k[0], headers => $wh64k[1],
          baseline => 'bare_post_64k' },
    );
}

1;
