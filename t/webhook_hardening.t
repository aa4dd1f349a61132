# Webhook verification, hardened (issue 8): Shopify's unprefixed
# shopify-hmac-sha256, Twilio's SharedKey HMAC-SHA256 (vectors made by
# twilio-node 6.3.1, t/vectors/twilio.json), Stripe-Signature with many
# v1 entries, and event ids that are present but unusable (an embedded
# NUL, control characters) never truncated into another event's id.
# Signatures are computed here with Digest::SHA, independently of the
# module's code.

use strict;
use warnings;

use Test::More;
use FindBin;
use JSON::PP;
use Digest::SHA qw(hmac_sha256 hmac_sha256_hex);
use MIME::Base64 qw(encode_base64);

use Gateway;
use MockServer;

my %KEY = (
    stripe   => 'whsec_hardening_secret',
    shopify  => 'shpss_hardening_secret',
    github   => 'github-hardening-secret',
    coinbase => 'coinbase-hardening-secret',
);

my $tw = decode_json(do {
    local (@ARGV, $/) = "$FindBin::Bin/vectors/twilio.json"; <> });
my %TV = map { $_->{name} => $_ } @{ $tw->{vectors} };

my $gw = Gateway->new;
$gw->write_file("$_.key", "$KEY{$_}\n") for keys %KEY;
$gw->write_file('tw-shared.key', "$TV{sharedkey_sha256_form}{secret}\n");
$gw->write_file('tw-token.key', "$TV{authtoken_sha1_form}{secret}\n");

my $up = MockServer->new(port => $gw->port('up'), handler => sub {
    return (200, { 'Content-Type' => 'text/plain' }, "app ok\n");
});

my $TWURL = $TV{sharedkey_sha256_form}{url};

$gw->start(http => <<CONF);
    log_format hooks '\$uri \$status "\$webhook_event_id" "\$webhook_status"';

    webhook_dedupe_zone zone=hooks:1m ttl=1h;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        access_log %%DIR%%/hooks.log hooks;

        location /stripe {
            webhook_verify stripe secret_file=%%DIR%%/stripe.key
                           dedupe=hooks;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }

        location /stripe-nodedupe {
            webhook_verify stripe secret_file=%%DIR%%/stripe.key;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }

        location /shopify {
            webhook_verify shopify secret_file=%%DIR%%/shopify.key
                           dedupe=hooks;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }

        location /github {
            webhook_verify github secret_file=%%DIR%%/github.key
                           dedupe=hooks;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }

        location /coinbase {
            webhook_verify coinbase secret_file=%%DIR%%/coinbase.key
                           dedupe=hooks;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }

        location /tw-sha1 {
            webhook_verify twilio secret_file=%%DIR%%/tw-shared.key
                           secret_file=%%DIR%%/tw-token.key url=$TWURL;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }

        location /tw-sha256 {
            webhook_verify twilio secret_file=%%DIR%%/tw-shared.key
                           url=$TWURL algorithm=sha256;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }

        location /tw-auto {
            webhook_verify twilio secret_file=%%DIR%%/tw-shared.key
                           secret_file=%%DIR%%/tw-token.key url=$TWURL
                           algorithm=auto;
            proxy_pass http://127.0.0.1:%%PORT:up%%;
        }

        location = /metrics { integrations_status; }
    }
CONF

my $seq = 0;
sub uid { sprintf '%s_%d_%d', $_[0], $$, ++$seq }

sub post {
    my ($path, $headers, $body) = @_;
    return $gw->request('POST', $path, headers => $headers, body => $body);
}

sub problem { my ($r) = @_; return eval { decode_json($r->{body}) } // {} }
sub nup { my @r = $up->requests; return scalar @r }

sub stripe_sig {
    my ($body, @extra) = @_;
    my $t = time;
    return join ',', "t=$t", @extra,
                     'v1=' . hmac_sha256_hex("$t.$body", $KEY{stripe});
}

# ---- Stripe-Signature with many v1 entries (item 8) ----

{
    my $body = '{"id":"' . uid('evt') . '","object":"event"}';
    my @junk = map { 'v1=' . sprintf('%064x', $_) } 1 .. 9;

    $up->clear;
    my $r = post('/stripe', { 'Stripe-Signature' => stripe_sig($body, @junk) },
                 $body);
    is($r->{status}, 200, 'stripe: 10 v1 entries, the valid one last: passes')
        or diag $r->{body};
    is(nup(), 1, 'stripe: and it reached the upstream');

    $body = '{"id":"' . uid('evt') . '","object":"event"}';
    @junk = map { 'v1=' . sprintf('%064x', $_) } 1 .. 31;
    $r = post('/stripe', { 'Stripe-Signature' => stripe_sig($body, @junk) },
              $body);
    is($r->{status}, 200, 'stripe: 32 v1 entries (the cap) pass');

    push @junk, 'v1=' . sprintf('%064x', 32);
    $up->clear;
    $r = post('/stripe', { 'Stripe-Signature' => stripe_sig($body, @junk) },
              $body);
    is($r->{status}, 401, 'stripe: 33 v1 entries are refused');
    is(problem($r)->{type},
       'urn:integrations:problem:webhook_too_many_signatures',
       'stripe: as too_many_signatures') or diag $r->{body};
    like(problem($r)->{detail} // '',
         qr/^too_many_signatures \(Stripe-Signature\)/,
         'stripe: the detail names the header');
    is(nup(), 0, 'stripe: never upstream');

    # v0 and other schemes do not count against the cap
    my @v0 = map { 'v0=' . sprintf('%064x', $_) } 1 .. 40;
    $body = '{"id":"' . uid('evt') . '","object":"event"}';
    $r = post('/stripe', { 'Stripe-Signature' => stripe_sig($body, @v0) },
              $body);
    is($r->{status}, 200, 'stripe: 40 v0 entries beside one v1 pass');
}

# ---- Shopify: shopify-hmac-sha256 as well as X-Shopify-Hmac-Sha256 ----

sub shopify_mac {
    my ($body) = @_;
    return encode_base64(hmac_sha256($body, $KEY{shopify}), '');
}

{
    my $id = uid('sh');
    my $body = qq({"order":{"id":"$id"}});
    my $mac = shopify_mac($body);

    $up->clear;
    my $r = post('/shopify', { 'shopify-hmac-sha256' => $mac,
                               'shopify-webhook-id' => $id,
                               'shopify-topic' => 'orders/create' }, $body);
    is($r->{status}, 200, 'shopify: shopify-hmac-sha256 alone verifies')
        or diag $r->{body};
    is(nup(), 1, 'shopify: and reaches the upstream');

    $r = post('/shopify', { 'shopify-hmac-sha256' => $mac,
                            'shopify-webhook-id' => $id }, $body);
    is($r->{body}, qq({"status":"replayed"}\n),
       'shopify: deduplicated by shopify-webhook-id');

    $r = post('/shopify', { 'X-Shopify-Hmac-Sha256' => $mac,
                            'X-Shopify-Webhook-Id' => $id }, $body);
    is($r->{body}, qq({"status":"replayed"}\n),
       'shopify: the same delivery id under its X- name is the same');

    $id = uid('sh');
    $body = qq({"order":{"id":"$id"}});
    $mac = shopify_mac($body);
    $r = post('/shopify', { 'X-Shopify-Hmac-Sha256' => $mac,
                            'shopify-hmac-sha256' => $mac,
                            'X-Shopify-Webhook-Id' => $id,
                            'shopify-webhook-id' => $id }, $body);
    is($r->{status}, 200, 'shopify: both names with one value verify');

    my $other = shopify_mac("$body ");
    $up->clear;
    for my $pair ([ $mac, $other ], [ $other, $mac ]) {
        $r = post('/shopify', { 'X-Shopify-Hmac-Sha256' => $pair->[0],
                                'shopify-hmac-sha256' => $pair->[1],
                                'X-Shopify-Webhook-Id' => uid('sh') }, $body);
        is($r->{status}, 401, 'shopify: both names, two values: refused');
        like(problem($r)->{detail} // '',
             qr/^malformed_header \(shopify-hmac-sha256\)/,
             'shopify: as malformed_header') or diag $r->{body};
    }
    is(nup(), 0, 'shopify: the ambiguous ones never upstream');

    $r = post('/shopify', { 'shopify-hmac-sha256' => $mac,
                            'X-Shopify-Webhook-Id' => uid('sh'),
                            'shopify-webhook-id' => uid('sh') }, $body);
    is($r->{status}, 400, 'shopify: two different delivery ids: 400');
    like(problem($r)->{detail} // '',
         qr/^malformed_header \(shopify-webhook-id\)/,
         'shopify: naming shopify-webhook-id') or diag $r->{body};

    $r = post('/shopify', {}, $body);
    like(problem($r)->{detail} // '',
         qr/^missing_header \(X-Shopify-Hmac-Sha256\)/,
         'shopify: neither name: missing_header');
}

# ---- Twilio: HMAC-SHA256 with a SharedKey (item 7) ----

sub twilio {
    my ($path, $name, %change) = @_;
    my $v = $TV{$name};
    my %h = %{ $v->{headers} };
    for (keys %change) {
        if (defined $change{$_}) { $h{$_} = $change{$_} } else { delete $h{$_} }
    }
    return post("$path?$v->{query}", \%h, $v->{body});
}

{
    $up->clear;
    my $r = twilio('/tw-sha256', 'sharedkey_sha256_form');
    is($r->{status}, 200, 'twilio sha256: the SDK vector (form) verifies')
        or diag $r->{body};
    my @got = $up->requests;
    ok(@got == 1 && $got[0]{body} eq $TV{sharedkey_sha256_form}{body},
       'twilio sha256: body identical upstream');

    $r = twilio('/tw-sha256', 'sharedkey_sha256_json');
    is($r->{status}, 200, 'twilio sha256: the SDK vector (JSON) verifies')
        or diag $r->{body};

    $r = twilio('/tw-sha256', 'authtoken_sha1_form');
    is($r->{status}, 401, 'twilio sha256: a SHA-1 delivery is refused');
    like(problem($r)->{detail} // '',
         qr/^no_known_scheme \(X-Twilio-Webhooks-Signature-Settings\)/,
         'twilio sha256: as no_known_scheme') or diag $r->{body};

    for my $n (qw(sharedkey_sha256_form sharedkey_sha256_json
                  authtoken_sha1_form))
    {
        $r = twilio('/tw-auto', $n);
        is($r->{status}, 200, "twilio auto: $n verifies") or diag $r->{body};
    }

    $r = twilio('/tw-sha1', 'authtoken_sha1_form');
    is($r->{status}, 200, 'twilio sha1 (default): SHA-1 verifies');
    $r = twilio('/tw-sha1', 'sharedkey_sha256_form');
    is($r->{status}, 401, 'twilio sha1: an HMAC_SHA256 delivery is refused');
    like(problem($r)->{detail} // '',
         qr/^no_known_scheme \(X-Twilio-Webhooks-Signature-Settings\)/,
         'twilio sha1: as no_known_scheme');

    $up->clear;
    $r = twilio('/tw-auto', 'sharedkey_sha256_form',
                'X-Twilio-Webhooks-Signature-Settings' =>
                    'key=webhooks_sharedkey_x,algorithm=HMAC_SHA512');
    like(problem($r)->{detail} // '', qr/^no_known_scheme/,
         'twilio auto: an unknown algorithm is no_known_scheme');

    $r = twilio('/tw-auto', 'sharedkey_sha256_form',
                'X-Twilio-Webhooks-Signature-Settings' => undef);
    is($r->{status}, 401,
       'twilio auto: a SHA-256 signature without the settings header fails');

    $r = twilio('/tw-auto', 'sharedkey_sha256_form',
                'X-Twilio-Webhooks-Signature-Settings' =>
                    'key=webhooks_sharedkey_x,algorithm=HMAC_SHA1');
    like(problem($r)->{detail} // '', qr/^bad_signature/,
         'twilio auto: the header announcing SHA-1 over a SHA-256 MAC fails');

    my $v = $TV{sharedkey_sha256_form};
    (my $body = $v->{body}) =~ s/To=%2B1800/To=%2B1900/;
    $r = post("/tw-auto?$v->{query}", $v->{headers}, $body);
    like(problem($r)->{detail} // '', qr/^bad_signature/,
         'twilio auto: an altered parameter fails');
    is(nup(), 0, 'twilio: none of the refused reached the upstream');
}

# ---- event ids that are present but unusable (item 2) ----

sub stripe_event {
    my ($path, $id_json) = @_;
    my $body = qq({"id":"$id_json","object":"event","type":"invoice.paid"});
    return post($path, { 'Stripe-Signature' => stripe_sig($body) }, $body);
}

{
    my $id = uid('evt');
    $up->clear;
    my $r = stripe_event('/stripe', $id);
    is($r->{status}, 200, 'event id: evt delivered');

    for my $case ([ '\u0000x', 'an escaped NUL' ],
                  [ "\0x", 'a raw NUL byte' ],
                  [ "\x01", 'a raw control character' ],
                  [ '\n', 'an escaped newline' ],
                  [ ' x', 'a space' ])
    {
        $r = stripe_event('/stripe', $id . $case->[0]);
        is($r->{status}, 400, "event id with $case->[1]: 400")
            or diag $r->{body};
        is($r->{headers}{'content-type'}, 'application/problem+json',
           "event id with $case->[1]: problem+json");
        like(problem($r)->{detail} // '', qr/^malformed_body \(id\)/,
             "event id with $case->[1]: malformed_body naming the field");
        isnt($r->{body}, qq({"status":"replayed"}\n),
             "event id with $case->[1]: not taken for $id");
    }
    is(nup(), 1, 'event id: none of them reached the upstream');

    # escapes a JSON parser reads as plain characters are read as such
    $id = uid('evt');
    $r = stripe_event('/stripe', $id);
    (my $esc = $id) =~ s/_/\\u005f/g;
    $r = stripe_event('/stripe', $esc);
    is($r->{body}, qq({"status":"replayed"}\n),
       'event id: "\\u005f" is "_": the same event');

    # without dedupe= the id is not needed: the delivery passes
    $up->clear;
    $r = stripe_event('/stripe-nodedupe', uid('evt') . '\u0000');
    is($r->{status}, 200, 'event id: unusable, no dedupe=: passes');
    is(nup(), 1, 'event id: to the upstream');

    # a body field further down, and a header id
    my $body = qq({"id":"x","event":{"id":"cb\\u0000","type":"charge:confirmed"}});
    $r = post('/coinbase', { 'X-CC-Webhook-Signature'
                             => hmac_sha256_hex($body, $KEY{coinbase}) },
              $body);
    is($r->{status}, 400, 'coinbase: event.id with a NUL: 400');
    like(problem($r)->{detail} // '', qr/^malformed_body \(event\.id\)/,
         'coinbase: naming event.id') or diag $r->{body};

    $body = '{"action":"opened"}';
    $r = post('/github', { 'X-Hub-Signature-256' => 'sha256='
                               . hmac_sha256_hex($body, $KEY{github}),
                           'X-GitHub-Delivery' => 'two words' }, $body);
    is($r->{status}, 400, 'github: an X-GitHub-Delivery with a space: 400');
    like(problem($r)->{detail} // '',
         qr/^malformed_header \(X-GitHub-Delivery\)/,
         'github: naming the header') or diag $r->{body};
}

# ---- counters ----

{
    my $m = $gw->get('/metrics')->{body};
    like($m, qr/^integrations_webhook_failed_total\{provider="stripe",reason="too_many_signatures"\} 1$/m,
         'metrics: too_many_signatures counted');
    like($m, qr/^integrations_webhook_failed_total\{provider="stripe",reason="malformed_body"\} 5$/m,
         'metrics: the unusable ids counted as malformed_body');
}

$gw->stop;

my $log = $gw->read_file('hooks.log');
like($log, qr{^/stripe 400 "-" "invalid"$}m,
     'access log: an unusable id is no $webhook_event_id');
like($gw->error_log,
     qr/\[warn\].*webhook_verify: stripe delivery refused: malformed_body \(id\)/,
     'error log: the refusal at warn');

done_testing();
