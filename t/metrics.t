# One metrics registry: Coupang, rate limiting and webhook counters on the
# same integrations_status endpoint, the same totals from every worker, in
# Prometheus text and JSON.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use JSON::PP;

use Gateway;
use MockCoupang;
use MockServer;

my $gw = Gateway->new(workers => 2);
$gw->write_file('coupang.key', "TEST_SECRET_KEY\n");
$gw->write_file('stripe.key', "whsec_metrics\n");

my $cp = MockCoupang->new(port => $gw->port('coupang'), access_key => 'AK',
                          secret => 'TEST_SECRET_KEY');
my $app = MockServer->new(port => $gw->port('app'),
                          handler => sub { (200, {}, "ok") });

$gw->start(http => <<'CONF');
    rate_limit_zone      limits zone=limits:1m rate=1000r/s burst=1000;
    webhook_dedupe_zone  zone=hooks:1m;

    server {
        listen 127.0.0.1:%%PORT:gw%%;

        coupang_access_key       AK;
        coupang_secret_key_file  %%DIR%%/coupang.key;

        location /v2/ {
            rate_limit    zone=limits;
            coupang_sign  on;
            proxy_pass    http://127.0.0.1:%%PORT:coupang%%;
        }

        location = /hooks/stripe {
            webhook_verify  stripe secret_file=%%DIR%%/stripe.key
                            dedupe=hooks;
            proxy_pass      http://127.0.0.1:%%PORT:app%%;
        }

        location = /metrics { integrations_status; }
    }
CONF

is($gw->get("/v2/x?n=$_")->{status}, 200, "signed call $_") for 1 .. 5;

sub delivery {
    my ($id, $secret) = @_;
    my $body = qq({"id":"$id","object":"event"});
    my $t = time;
    return $gw->request('POST', '/hooks/stripe', body => $body, headers => {
        'Stripe-Signature' => "t=$t,v1=" . hmac_sha256_hex("$t.$body",
                                                           $secret) });
}

is(delivery('evt_1', 'whsec_metrics')->{status}, 200, 'delivery 1');
is(delivery('evt_2', 'whsec_metrics')->{status}, 200, 'delivery 2');
is(delivery('evt_1', 'whsec_metrics')->{status}, 200, 'replay answered');
is(delivery('evt_3', 'whsec_wrong')->{status}, 401, 'forgery refused');

# each worker answers with the same totals: ask often enough to meet both
my %seen;
for (1 .. 12) {
    my $r = $gw->get('/metrics');
    $seen{$r->{body}}++;
    is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4',
       'Prometheus content type') if $_ == 1;
}
is(scalar keys %seen, 1, 'every answer the same');
my ($text) = keys %seen;

like($text, qr/^integrations_coupang_signed_requests_total 5$/m,
     'Coupang signed requests');
like($text, qr/^integrations_rate_limit_requests_total\{zone="limits",result="passed"\} 5$/m,
     'rate limit passed');
like($text, qr/^integrations_webhook_verified_total\{provider="stripe"\} 3$/m,
     'webhooks verified, the replayed copy too');
like($text, qr/^integrations_webhook_replayed_total\{provider="stripe"\} 1$/m,
     'webhooks replayed');
like($text, qr/^integrations_webhook_failed_total\{provider="stripe",reason="bad_signature"\} 1$/m,
     'webhooks failed by reason');
unlike($text, qr/provider="github"/, 'only configured providers');

my %types = $text =~ /^# TYPE (\S+) (\S+)$/mg;
is($types{integrations_webhook_failed_total}, 'counter', 'TYPE line');
my @help = $text =~ /^# HELP integrations_webhook_failed_total /mg;
is(scalar @help, 1, 'one HELP per family');

my $json = decode_json($gw->get('/metrics?format=json')->{body});
my ($failed) = grep { $_->{name} eq 'integrations_webhook_failed_total' }
               @{ $json->{metrics} };
my ($bad) = grep { $_->{labels}{reason} eq 'bad_signature' }
            @{ $failed->{samples} };
is($bad->{value}, 1, 'JSON carries the same value');

$gw->stop;
done_testing();
