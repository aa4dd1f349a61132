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

# the feature of each server: the directives of its "location /"
my @servers = (
    [ bare => '' ],
    [ coupang_sign => 'coupang_sign on;' ],
    [ rate_limit => 'rate_limit zone=rl;' ],
    [ rate_limit_cluster => 'rate_limit zone=rlc;' ],
    [ rate_limit_sync => 'rate_limit zone=rls;' ],
    [ limit_req => 'limit_req zone=lr burst=100000 nodelay;' ],
    [ circuit_breaker => 'circuit_breaker zone=cb;' ],
    # tolerance=1h: the deliveries are signed once, when the bench
    # starts; no dedupe, or every copy after the first is a replay
    [ webhook => 'webhook_verify stripe secret_file=%%DIR%%/stripe.key'
                 . ' tolerance=1h;' ],
);

# the names of the servers' ports (Gateway's %%PORT:name%%), and a case's
sub ports { map { $_->[0] } @servers }
sub port_name { $_[0]{server} // $_[0]{name} }

sub servers {
    return join '', map { <<"CONF" } @servers;
    server {
        listen 127.0.0.1:%%PORT:$_->[0]%% backlog=4096;
        keepalive_requests 1000000;

        # 64 KB bodies stay in memory, with and without verification
        client_body_buffer_size 128k;

        location / {
            $_->[1]
            proxy_pass http://backend;
        }
    }
CONF
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

    # one server per feature, each its own port with "location /": every
    # case sends the same request line, so a ratio is the feature's cost,
    # not that of a longer URI or another location lookup (as much as 20%
    # of a cheap feature's instructions when the cases had prefixes)
${\ servers()}
CONF
}

# every GET case's request: a Coupang order query
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

# { name, server (the port's name; the name if none), path, body (POST) or
# undef, headers, baseline: the case the ratio is taken to, bare
# proxy_pass of the same request }
sub cases {
    my @wh1k = stripe_delivery(1024);
    my @wh64k = stripe_delivery(65536);

    return (
        { name => 'bare',            path => $orders },
        { name => 'coupang_sign',    path => $orders },
        { name => 'rate_limit',      path => $orders },
        { name => 'rate_limit_cluster', path => $orders, redis => 1 },
        { name => 'rate_limit_sync', path => $orders, redis => 1 },
        { name => 'limit_req',       path => $orders },
        { name => 'circuit_breaker', path => $orders },
        { name => 'bare_post_1k',    server => 'bare',
          path => '/hooks/stripe', body => $wh1k[0], headers => $wh1k[1],
          baseline => 'bare_post_1k' },
        { name => 'webhook_1k',      server => 'webhook',
          path => '/hooks/stripe', body => $wh1k[0], headers => $wh1k[1],
          baseline => 'bare_post_1k' },
        { name => 'bare_post_64k',   server => 'bare',
          path => '/hooks/stripe', body => $wh64k[0], headers => $wh64k[1],
          baseline => 'bare_post_64k' },
        { name => 'webhook_64k',     server => 'webhook',
          path => '/hooks/stripe', body => $wh64k[0], headers => $wh64k[1],
          baseline => 'bare_post_64k' },
    );
}

1;
