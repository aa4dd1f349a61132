# Inline webhook verification through real nginx to a local upstream that
# records every byte it receives.  Signatures are computed here with
# Digest::SHA and MIME::Base64, independently of the module's code.

use strict;
use warnings;

use Test::More;
use FindBin;
use JSON::PP;
use Digest::SHA qw(hmac_sha256 hmac_sha256_hex hmac_sha1);
use MIME::Base64 qw(encode_base64 decode_base64);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use Gateway;
use MockServer;

my %KEY = (
    stripe   => 'whsec_test_secret_for_the_gateway',
    stripe2  => 'whsec_the_rotated_in_secret',
    standard => 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    toss     => '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    coinbase => '30291a20-0bd1-4267-9b0f-e6e7b123c0bf',
    square   => 'Ibxx_5AKakO-3qeNVR61Dw',
    slack    => '8f742231b10e8888abcd99yyyzzz85a5',
    github   => "It's a Secret to Everybody",
    shopify  => 'shpss_shopify_secret',
    twilio   => '12345',
);

my $SQUARE_URL = 'https://hooks.example.com/square';
my $TWILIO_URL = 'https://hooks.example.com/twilio';

my $gw = Gateway->new(error_log_level => 'info', workers => 2);
$gw->write_file("$_.key", "$KEY{$_}\n") for keys %KEY;

# the Standard Webhooks v1a vector: an Ed25519 public key, a fixed time
my $vectors_dir = $ENV{VECTORS_DIR} // "$FindBin::Bin/../../shared/vectors";
my $vectors = decode_json(do {
    local (@ARGV, $/) = "$vectors_dir/webhooks.json"; <> });
my ($ed) = grep { $_->{public_key} } @{ $vectors->{vectors} };
$gw->write_file('ed25519.pub', "$ed->{public_key}\n");

my $up = MockServer->new(port => $gw->port('up'), handler => sub {
    my ($req, $mode) = @_;
    return (500, {}, "down\n") if $mode eq 'failing';
    sleep 1.5 if $mode eq 'slow';
    return (200, { 'Content-Type' => 'text/plain' }, "app ok\n");
});

$gw->start(http => <<'CONF');
    log_format webhook '$uri $status $webhook_provider '
                       '"$webhook_event_id" "$webhook_status"';

    webhook_dedupe_zone zone=webhooks:1m ttl=1h;

    upstream app {
        server 127.0.0.1:%%PORT:up%%;
    }

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        access_log %%DIR%%/webhook.log webhook;

        client_body_buffer_size 16k;
        client_max_body_size 8m;

        location /stripe {
            webhook_verify stripe secret_file=%%DIR%%/stripe.key
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /rotate {
            webhook_verify stripe secret_file=%%DIR%%/stripe.key
                           secret_file=%%DIR%%/stripe2.key;
            proxy_pass http://app;
        }

        location /big {
            webhook_verify stripe secret_file=%%DIR%%/stripe.key;
            proxy_pass http://app;
        }

        location /small {
            client_max_body_size 1k;
            webhook_verify stripe secret_file=%%DIR%%/stripe.key;
            proxy_pass http://app;
        }

        location /standard {
            webhook_verify standard secret_file=%%DIR%%/standard.key
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /ed25519 {
            webhook_verify standard public_key_file=%%DIR%%/ed25519.pub
                           tolerance=20y;
            proxy_pass http://app;
        }

        location /toss {
            webhook_verify toss secret_file=%%DIR%%/toss.key key_form=ascii
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /toss-open {
            webhook_verify toss secret_file=%%DIR%%/toss.key unsigned=allow;
            proxy_pass http://app;
        }

        location /coinbase {
            webhook_verify coinbase secret_file=%%DIR%%/coinbase.key
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /square {
            webhook_verify square secret_file=%%DIR%%/square.key
                           url=https://hooks.example.com/square
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /slack {
            webhook_verify slack secret_file=%%DIR%%/slack.key
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /github {
            webhook_verify github secret_file=%%DIR%%/github.key
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /shopify {
            webhook_verify shopify secret_file=%%DIR%%/shopify.key
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /twilio {
            webhook_verify twilio secret_file=%%DIR%%/twilio.key
                           url=https://hooks.example.com/twilio
                           dedupe=webhooks;
            proxy_pass http://app;
        }

        location /failing {
            webhook_verify github secret_file=%%DIR%%/github.key
                           dedupe=webhooks;
            proxy_pass http://127.0.0.1:1;
            error_page 502 = /fallback;
        }

        location = /fallback {
            return 200 "fallback\n";
        }

        location /plain {
            proxy_pass http://app;
        }
    }
CONF

my $seq = 0;
sub uid { sprintf '%s_%d_%d', $_[0], $$, ++$seq }

# ---- signers: (path, headers, body) for a delivery of provider ----

sub stripe {
    my (%a) = @_;
    my $id = $a{id} // uid('evt');
    my $body = $a{body} // qq({"id":"$id","object":"event","type":"invoice.paid"});
    my $t = $a{t} // time;
    $t = int $t;
    my $key = $a{key} // $KEY{stripe};
    my $sig = hmac_sha256_hex("$t.$body", $key);
    return ($a{path} // '/stripe',
            { 'Stripe-Signature' => "t=$t,v1=$sig",
              'Content-Type' => 'application/json' }, $body, $id);
}

sub standard {
    my (%a) = @_;
    my $id = $a{id} // uid('msg');
    my $body = $a{body} // qq({"type":"user.created","n":$seq});
    my $t = int($a{t} // time);
    (my $k = $KEY{standard}) =~ s/^whsec_//;
    my $sig = encode_base64(hmac_sha256("$id.$t.$body", decode_base64($k)), '');
    return ('/standard', { 'webhook-id' => $id, 'webhook-timestamp' => $t,
                           'webhook-signature' => "v1,$sig" }, $body, $id);
}

sub toss {
    my (%a) = @_;
    my $id = $a{id} // uid('tx');
    my $body = $a{body} // '{"eventType":"payout.changed","data":{"n":1}}';
    my $time = '2024-09-05T12:19:21+09:00';
    my $sig = encode_base64(hmac_sha256("$body:$time", $KEY{toss}), '');
    return ('/toss', { 'tosspayments-webhook-signature' => "v1:$sig",
                       'tosspayments-webhook-transmission-time' => $time,
                       'tosspayments-webhook-transmission-id' => $id },
            $body, $id);
}

sub coinbase {
    my $id = uid('cb');
    my $body = qq({"id":"x","event":{"id":"$id","type":"charge:confirmed"}});
    return ('/coinbase', { 'X-CC-Webhook-Signature'
                           => hmac_sha256_hex($body, $KEY{coinbase}) },
            $body, $id);
}

sub square {
    my $id = uid('sq');
    my $body = qq({"merchant_id":"M","type":"payment.updated","event_id":"$id"});
    return ('/square', { 'x-square-hmacsha256-signature' => encode_base64(
                hmac_sha256("$SQUARE_URL$body", $KEY{square}), '') },
            $body, $id);
}

sub slack {
    my (%a) = @_;
    my $id = uid('Ev');
    my $body = qq({"type":"event_callback","event_id":"$id"});
    my $t = int($a{t} // time);
    return ('/slack', { 'X-Slack-Request-Timestamp' => $t,
                        'X-Slack-Signature' => 'v0='
                            . hmac_sha256_hex("v0:$t:$body", $KEY{slack}) },
            $body, $id);
}

sub github {
    my (%a) = @_;
    my $id = $a{id} // uid('gh');
    my $body = $a{body} // qq({"action":"opened","n":$seq});
    return ($a{path} // '/github',
            { 'X-Hub-Signature-256' => 'sha256='
                  . hmac_sha256_hex($body, $KEY{github}),
              'X-GitHub-Delivery' => $id, 'X-GitHub-Event' => 'issues' },
            $body, $id);
}

sub shopify {
    my $id = uid('sh');
    my $body = qq({"order":{"id":$seq}});
    return ('/shopify', { 'X-Shopify-Hmac-Sha256'
                          => encode_base64(hmac_sha256($body, $KEY{shopify}), ''),
                          'X-Shopify-Webhook-Id' => $id }, $body, $id);
}

sub twilio {
    my $id = uid('tw');
    my %form = (CallSid => "CA$seq", From => '+14158675309',
                To => '+18005551212', Body => 'hi there & more');
    my $enc = sub { (my $s = shift) =~ s/([^A-Za-z0-9_.~-])/
                        $1 eq ' ' ? '+' : sprintf('%%%02X', ord $1)/ge; $s };
    my $body = join '&', map { "$_=" . $enc->($form{$_}) } sort keys %form;
    my $query = 'tenant=a';
    my $signed = "$TWILIO_URL?$query" . join '', map { "$_$form{$_}" }
                 sort keys %form;
    return ("/twilio?$query",
            { 'X-Twilio-Signature' => encode_base64(
                  hmac_sha1($signed, $KEY{twilio}), ''),
              'Content-Type' => 'application/x-www-form-urlencoded',
              'I-Twilio-Idempotency-Token' => $id }, $body, $id);
}

sub post {
    my ($path, $headers, $body) = @_;
    return $gw->request('POST', $path, headers => $headers, body => $body);
}

sub seen { my $t = shift; grep { $_->{body} eq $t } $up->requests }
sub nup { my @r = $up->requests; return scalar @r }

sub problem {
    my ($r) = @_;
    return eval { decode_json($r->{body}) } // {};
}

# ---- every provider: a valid delivery passes, bytes unchanged ----

my %signer = (stripe => \&stripe, standard => \&standard, toss => \&toss,
              coinbase => \&coinbase, square => \&square, slack => \&slack,
              github => \&github, shopify => \&shopify, twilio => \&twilio);

for my $p (sort keys %signer) {
    my ($path, $h, $body, $id) = $signer{$p}->();
    $up->clear;
    my $r = post($path, $h, $body);
    is($r->{status}, 200, "$p: valid delivery passes") or diag $r->{body};
    is($r->{body}, "app ok\n", "$p: the application answered");
    my @got = $up->requests;
    is(scalar @got, 1, "$p: one request upstream");
    ok(@got && $got[0]{body} eq $body, "$p: body bytes identical upstream");

    # one flipped bit in the body
    my $forged = $body;
    substr($forged, 5, 1) = chr(ord(substr($forged, 5, 1)) ^ 0x01);
    $up->clear;
    $r = post($path, $h, $forged);
    is($r->{status}, 401, "$p: flipped bit refused");
    is($r->{headers}{'content-type'}, 'application/problem+json',
       "$p: problem+json");
    like(problem($r)->{detail} // '', qr/^(bad_signature|malformed_body)/,
         "$p: reason named") or diag $r->{body};
    is(nup(), 0, "$p: forged delivery never upstream");
}

# the Ed25519 (v1a) vector, its public key given by public_key_file=
{
    $up->clear;
    my $r = post('/ed25519', $ed->{headers}, $ed->{body});
    is($r->{status}, 200, 'standard v1a Ed25519: passes') or diag $r->{body};
    ok((seen($ed->{body}))[0], 'standard v1a: body upstream');
    my %h = %{ $ed->{headers} };
    $h{'webhook-signature'} =~ s/v1a,(.)/'v1a,' . ($1 eq 'A' ? 'B' : 'A')/e;
    $r = post('/ed25519', \%h, $ed->{body});
    is($r->{status}, 401, 'standard v1a: altered signature refused');
}

# ---- forged, stale, unsigned: 401 naming the reason, never upstream ----

{
    my ($path, $h, $body) = stripe();
    my ($sig) = $h->{'Stripe-Signature'} =~ /v1=(\w+)/;
    my %bad = %$h;
    $bad{'Stripe-Signature'} =~ s/v1=(.)/'v1=' . ($1 eq '0' ? '1' : '0')/e;
    $up->clear;
    my $r = post($path, \%bad, $body);
    is($r->{status}, 401, 'stripe: flipped signature refused');
    my $pb = problem($r);
    is($pb->{type}, 'urn:integrations:problem:webhook_bad_signature',
       'problem type names the reason');
    is($pb->{status}, 401, 'problem status');
    unlike($r->{body}, qr/\Q$sig\E/i, 'the expected signature is not shown');
    unlike($r->{body}, qr/[0-9a-f]{64}/, 'nor any MAC');

    my %missing = %$h;
    delete $missing{'Stripe-Signature'};
    $r = post($path, \%missing, $body);
    is($r->{status}, 401, 'missing header refused');
    like(problem($r)->{detail}, qr/^missing_header \(Stripe-Signature\)/,
         'missing header named');

    $r = $gw->raw("POST /stripe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  . "Stripe-Signature: $h->{'Stripe-Signature'}\r\n"
                  . "Stripe-Signature: $h->{'Stripe-Signature'}\r\n"
                  . "Content-Length: " . length($body) . "\r\n\r\n$body");
    is($r->{status}, 401, 'duplicated header refused');
    like(problem($r)->{detail}, qr/^malformed_header/, 'as malformed');

    my %v0 = %$h;
    $v0{'Stripe-Signature'} =~ s/v1=/v0=/;
    $r = post($path, \%v0, $body);
    like(problem($r)->{detail}, qr/^no_known_scheme/, 'v0 only: no_known_scheme');
    is(nup(), 0, 'none of them reached the upstream');
}

for my $skew (-301, 301) {
    $up->clear;
    my $r = post(stripe(t => time - $skew));
    is($r->{status}, 401, "stripe: timestamp ${skew}s away refused");
    like(problem($r)->{detail}, qr/^timestamp_out_of_tolerance/,
         'reason: timestamp_out_of_tolerance') or diag $r->{body};
    $r = post(slack(t => time - $skew));
    is($r->{status}, 401, "slack: timestamp ${skew}s away refused");
    $r = post(standard(t => time - $skew));
    is($r->{status}, 401, "standard: timestamp ${skew}s away refused");
    is(nup(), 0, 'stale deliveries never upstream');
}

for my $skew (-295, 295) {
    my $r = post(stripe(t => time - $skew));
    is($r->{status}, 200, "stripe: timestamp ${skew}s away passes");
}

{
    my $body = '{"eventType":"PAYMENT_STATUS_CHANGED","data":{}}';
    $up->clear;
    my $r = post('/toss', {}, $body);
    is($r->{status}, 401, 'toss: unsigned event refused by default');
    like(problem($r)->{detail}, qr/^unsigned/, 'reason: unsigned');
    is(nup(), 0, 'unsigned delivery never upstream');

    $r = post('/toss-open', {}, $body);
    is($r->{status}, 200, 'toss: unsigned event let through with unsigned=allow');
    ok((seen($body))[0], 'and it reached the upstream');

    $up->clear;
    $r = post('/toss-open', {}, '{"eventType":"payout.changed"}');
    is($r->{status}, 401, 'unsigned=allow: an unsigned payout.changed refused');
    like(problem($r)->{detail}, qr/^missing_header/, 'as a missing signature');
    is(nup(), 0, 'and never upstream');
}

# ---- secret rotation ----

{
    for my $k (qw(stripe stripe2)) {
        my $r = post(stripe(path => '/rotate', key => $KEY{$k}));
        is($r->{status}, 200, "rotation: $k verifies");
    }
    my $r = post(stripe(path => '/rotate', key => 'whsec_neither'));
    is($r->{status}, 401, 'rotation: another key does not');
    $r = post(stripe(key => $KEY{stripe2}));
    is($r->{status}, 401, 'the second secret only where configured');
}

# ---- bodies: spooled to a temporary file; over client_max_body_size ----

{
    my $big = '{"id":"evt_big","object":"event","data":"'
            . join('', map { chr(65 + ($_ * 7) % 26) } 1 .. 5 * 1024 * 1024)
            . '"}';
    $up->clear;
    my $r = post(stripe(path => '/big', body => $big));
    is($r->{status}, 200, '5 MB body: passes') or diag $r->{body};
    my @got = $up->requests;
    ok(@got == 1 && $got[0]{body} eq $big, '5 MB body: identical upstream');
    like($gw->error_log, qr/request body is buffered to a temporary file/,
         '5 MB body: was spooled to a temporary file');

    $up->clear;
    my ($p, $h) = stripe(path => '/big', body => $big);
    substr($big, 4000000, 1) = 'y';
    $r = post($p, $h, $big);
    is($r->{status}, 401, '5 MB body altered in the file part: refused');
    is(nup(), 0, 'and never upstream');

    my $chunked = 'x' x 100000;
    ($p, $h) = stripe(path => '/big', body => $chunked);
    $r = $gw->raw("POST /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . "Stripe-Signature: $h->{'Stripe-Signature'}\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n"
        . join('', map { sprintf("%x\r\n%s\r\n", 10000, $_) }
                   unpack('(a10000)*', $chunked)) . "0\r\n\r\n");
    is($r->{status}, 200, 'chunked body: passes');
    ok((seen($chunked))[0], 'chunked body: identical upstream');

    $up->clear;
    $r = post(stripe(path => '/small', body => 'y' x 2048));
    is($r->{status}, 413, 'over client_max_body_size: 413');
    is(nup(), 0, 'over client_max_body_size: never upstream');
}

# ---- replays ----

for my $p (qw(stripe standard github twilio)) {
    my ($path, $h, $body, $id) = $signer{$p}->();
    $up->clear;
    my $r = post($path, $h, $body);
    is($r->{status}, 200, "$p replay: first delivery passes");
    $r = post($path, $h, $body);
    is($r->{status}, 200, "$p replay: the copy answered 200");
    is($r->{body}, qq({"status":"replayed"}\n), "$p replay: by the gateway");
    is(nup(), 1, "$p replay: the upstream saw one");
}

{
    # a body's event id is the same whatever shape the body arrived in:
    # in memory, spooled to a temporary file, or in small chunks
    my $id = uid('evt');
    my $pad = 'p' x 40000;
    my $body = qq({"id":"$id","object":"event","pad":"$pad"});
    my ($p, $h) = stripe(path => '/stripe', id => $id, body => $body);

    $up->clear;
    my $r = post($p, $h, $body);
    is($r->{status}, 200, 'id from a spooled body: delivered');

    $r = $gw->raw("POST /stripe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . "Stripe-Signature: $h->{'Stripe-Signature'}\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n"
        . join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) }
                   unpack('(a7)*', $body)) . "0\r\n\r\n");
    is($r->{body}, qq({"status":"replayed"}\n),
       'the same id from 7-byte chunks: replayed');
    is(nup(), 1, 'one delivery upstream');

    $id = uid('evt');
    ($p, $h, $body) = stripe(path => '/stripe', id => $id);
    $r = post($p, $h, $body);
    is($r->{status}, 200, 'id from a small in-memory body: delivered');
    $r = $gw->raw("POST /stripe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . "Stripe-Signature: $h->{'Stripe-Signature'}\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n"
        . join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) }
                   unpack('(a3)*', $body)) . "0\r\n\r\n");
    is($r->{body}, qq({"status":"replayed"}\n),
       'the same id from 3-byte chunks: replayed');
}

{
    # the same id from two providers are two deliveries
    my $id = uid('shared');
    my $r1 = post(github(id => $id));
    my ($p, $h, $b) = stripe(id => $id);
    my $r2 = post($p, $h, $b);
    is($r1->{status} . $r2->{status}, '200200', 'ids are per provider');
    is(scalar(grep { $_->{body} eq $b } $up->requests), 1,
       'the second provider\'s delivery reached the upstream');
}

{
    my @d = github();
    $up->set_mode('failing');
    $up->clear;
    my $r = post(@d[0 .. 2]);
    is($r->{status}, 500, 'upstream 500: passed back');
    $up->set_mode('healthy');
    $r = post(@d[0 .. 2]);
    is($r->{status}, 200, 'retry after an upstream 500 goes through');
    is(nup(), 2, 'the upstream saw both');
    $r = post(@d[0 .. 2]);
    is($r->{body}, qq({"status":"replayed"}\n), 'then it is delivered');

    @d = github(path => '/failing');
    $r = post(@d[0 .. 2]);
    is($r->{status}, 200, 'unreachable upstream, error_page answers 200');
    $r = post(@d[0 .. 2]);
    is($r->{body}, "fallback\n",
       'but the delivery was not recorded: the retry goes on');
}

sub in_background {
    my ($path, $h, $body) = @_;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        my $r = post($path, $h, $body);
        POSIX::_exit($r->{status} == 200 ? 0 : 1);
    }
    return $pid;
}

{
    my @d = stripe();
    $up->set_mode('slow');
    $up->clear;
    my $pid = in_background(@d[0 .. 2]);
    sleep 0.5;
    my $r = post(@d[0 .. 2]);
    is($r->{status}, 409, 'a copy while the first is in flight: 409');
    is(problem($r)->{type}, 'urn:integrations:problem:webhook_in_flight',
       '409 problem type');
    waitpid($pid, 0);
    is($?, 0, 'the first copy: 200');
    $up->set_mode('healthy');
    is(nup(), 1, 'two concurrent copies: one delivery');
    $r = post(@d[0 .. 2]);
    is($r->{body}, qq({"status":"replayed"}\n), 'and later copies replayed');
}

{
    # the provider hangs up while the upstream works: the mark goes
    my @d = stripe();
    $up->set_mode('slow');
    $up->clear;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $gw->port('gw'))
        or die;
    print $s "POST /stripe HTTP/1.1\r\nHost: x\r\n"
        . join('', map { "$_: $d[1]{$_}\r\n" } keys %{ $d[1] })
        . "Content-Length: " . length($d[2]) . "\r\n\r\n$d[2]";
    sleep 0.5;
    close $s;
    sleep 0.3;
    $up->set_mode('healthy');
    my $r = post(@d[0 .. 2]);
    is($r->{status}, 200, 'after a client abort (499) the retry goes through');
    is($r->{body}, "app ok\n", 'to the upstream');
    sleep 1.5;
}

# ---- logs and variables ----

$gw->stop;

my $log = $gw->read_file('webhook.log');
like($log, qr{^/stripe 200 stripe "evt_\d+_\d+" "verified"$}m,
     'access log: a verified delivery');
like($log, qr{^/stripe 401 stripe "-" "invalid"$}m, 'access log: invalid');
like($log, qr{^/stripe 401 stripe "-" "expired"$}m, 'access log: expired');
like($log, qr{^/stripe 200 stripe "evt_\d+_\d+" "replayed"$}m,
     'access log: replayed');
like($log, qr{^/stripe 409 stripe "evt_\d+_\d+" "replayed"$}m,
     'access log: the 409 copy');
like($log, qr{^/toss-open 200 toss "-" "unsigned"$}m, 'access log: unsigned');
like($log, qr{^/github 200 github "gh_\d+_\d+" "verified"$}m,
     'access log: a header id');
like($log, qr{^/plain|^/stripe}m, 'access log written');

my $errors = $gw->error_log;
like($errors, qr/\[warn\].*webhook_verify: stripe delivery refused: bad_signature.*client: 127\.0\.0\.1/,
     'a failure logged at warn with provider, reason and client');
like($errors, qr/\[warn\].*webhook_verify: stripe delivery refused: timestamp_out_of_tolerance \(skew -?\d+ s\)/,
     'a stale delivery logged with its skew');
for my $k (values %KEY) {
    unlike($errors, qr/\Q$k\E/, 'no secret in the error log');
}

done_testing();
