# Every notification provider type end to end: nginx with the module sends
# through notify_provider_test (one send, the same send function the
# delivery worker calls) to the stand-ins of t/lib/MockNotify.pm, which
# check each wire format with their own code (Solapi's signature
# recomputed, the FCM token's JWT verified with the public key, Twilio's
# Basic auth and form, SendGrid's and Slack's bearer and JSON).  Then the
# outcomes the worker acts on: permanent and retryable errors, 429 with
# Retry-After, Slack's ok:false inside a 200, FCM's token cached, shared
# by the workers, dropped on a 401 and refreshed before it expires; the
# provider's rate limit, breaker and concurrency bound refusing with
# nothing sent; an idempotency header carrying the same key on every
# attempt.  Last, nginx -t refusing bad parameters by name.

use strict;
use warnings;
use utf8;

use Test::More;
use JSON::PP;
use Encode qw(encode decode);
use POSIX ();
use Time::HiRes qw(sleep time);

use Gateway;
use MockNotify;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $J = JSON::PP->new->utf8->canonical;

my $gw = Gateway->new(workers => 2);
my $mock = MockNotify->new(gw => $gw);
$mock->write_keys($gw);
$gw->write_file('fcm_other.json',
                $mock->fcm_key_json(private_key_id => 'mockkeyid0001'));

my $refused = Gateway::free_port();

$gw->write_file('ready_sms.tpl',
                encode('UTF-8', "[책방] {{name}}님, 주문하신 책이 준비되었습니다.\n"));
$gw->write_file('long_sms.tpl', encode('UTF-8', "Subject: 주문 안내\n--- text\n"
                . "{{name}}님, " . ('가' x 50) . "\n"));
$gw->write_file('ready_ata.tpl',
                encode('UTF-8', "{{name}}님, 주문하신 책이 준비되었습니다.\n"));
my $T = $VG ? '30s' : '10s';

my $conf = <<"CONF";
    rate_limit_zone      \$binary_remote_addr zone=sends:64k rate=1r/m
                         burst=1;
    circuit_breaker_zone zone=nbreakers:64k;

    notify_provider solapi type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=02-9302-2266 pf_id=$MockNotify::PF_ID timeout=$T;
    notify_provider twilio type=twilio key_file=%%DIR%%/twilio.key
                    base_url=http://127.0.0.1:%%PORT:twilio%%
                    from=+15005550006 default_country=1
                    status_callback=https://gw.example.com/twilio/status
                    timeout=$T;
    notify_provider sendgrid type=sendgrid key_file=%%DIR%%/sendgrid.key
                    base_url=http://127.0.0.1:%%PORT:sendgrid%%
                    from=books\@example.com from_name=Books timeout=$T;
    notify_provider slack type=slack key_file=%%DIR%%/slack.key
                    base_url=http://127.0.0.1:%%PORT:slack%% timeout=$T;
    notify_provider hook type=slack_webhook key_file=%%DIR%%/webhook.url
                    timeout=$T;
    notify_provider fcm type=fcm key_file=%%DIR%%/fcm.json
                    base_url=http://127.0.0.1:%%PORT:fcm%% timeout=$T
                    token_url=http://127.0.0.1:%%PORT:fcm%%/token;

    notify_provider limited type=slack key_file=%%DIR%%/slack.key
                    base_url=http://127.0.0.1:%%PORT:slack%%
                    rate_limit=sends;
    notify_provider broken type=sendgrid key_file=%%DIR%%/sendgrid.key
                    base_url=http://127.0.0.1:%%PORT:sendgrid%%
                    from=books\@example.com circuit_breaker=nbreakers
                    failures=2 open=60s;
    notify_provider narrow type=twilio key_file=%%DIR%%/twilio.key
                    base_url=http://127.0.0.1:%%PORT:twilio%%
                    from=+15005550006 concurrency=1 timeout=$T;
    notify_provider keyed type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=0293022266 idempotency_header=Idempotency-Key;
    notify_provider nowhere type=slack key_file=%%DIR%%/slack.key
                    base_url=http://127.0.0.1:$refused connect_timeout=1s;
    notify_provider hasty type=slack key_file=%%DIR%%/slack.key
                    base_url=http://127.0.0.1:%%PORT:slack%% timeout=1s;

    integrations_store sqlite:%%DIR%%/store.db;
    notify_delivery interval=100ms;
    notify_retry attempts=1;
    notify_template ready_sms file=%%DIR%%/ready_sms.tpl;
    notify_template long_sms file=%%DIR%%/long_sms.tpl;
    notify_template ready_ata file=%%DIR%%/ready_ata.tpl
                    alimtalk_template_id=TPL_ORDER_READY;
    notify_route sms solapi;
    notify_route alimtalk solapi;
    notify_route us_sms twilio type=sms;
    notify_route email sendgrid;
    notify_route push fcm;
    notify_route slack slack;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location = /send { notify_provider_test; }
        location /notifications { notify_api; }
    }
CONF

$gw->start(http => encode('UTF-8', $conf));

sub send_one {
    my (%m) = @_;
    my $r = $gw->request('POST', '/send',
                         headers => { 'Content-Type' => 'application/json' },
                         body => $J->encode(\%m), timeout => 60);
    my $o = eval { $J->decode($r->{body}) } // { status => $r->{status},
                                                 body => $r->{body} };
    return $o;
}

sub flags { my ($o) = @_; return join ',', sort @{ $o->{flags} // [] }; }

sub last_received {
    my ($name, $re) = @_;
    my @r = $mock->received($name, $re);
    return $r[-1];
}

# Solapi: a Korean SMS

my $o = send_one(provider => 'solapi', channel => 'sms',
                 to => '010-1234-5678', text => '[책방] 주문하신 책이 준비되었습니다.',
                 id => 'n-sms-1');
is($o->{outcome}, 'sent', 'solapi: a Korean SMS is sent') or diag(explain $o);
like($o->{message_id}, qr/^M4V/, 'its messageId');
is($o->{sent_as}, 0, 'as an SMS');
my $got = last_received('solapi');
is($got->{json}{message}{type}, 'SMS', 'Solapi received type SMS');
is($got->{json}{message}{to}, '01012345678', 'to, normalized');
is($got->{json}{message}{from}, '0293022266', 'from, the registered sender');
is(decode('UTF-8', encode('UTF-8', $got->{json}{message}{text})),
   '[책방] 주문하신 책이 준비되었습니다.', 'the text');
ok(!exists $got->{json}{message}{subject}, 'no subject on an SMS');
is($got->{json}{message}{customFields}{ref}, 'n-sms-1',
   'customFields.ref is the notification id');

# 46 syllables: 92 bytes of EUC-KR, an LMS

my $long = "안내\n" . ('가' x 46);
$o = send_one(provider => 'solapi', channel => 'sms', to => '01012345678',
              text => $long, id => 'n-lms-1');
is($o->{outcome}, 'sent', 'solapi: a long Korean text is sent');
is($o->{sent_as}, 1, 'as an LMS');
$got = last_received('solapi');
is($got->{json}{message}{type}, 'LMS', 'Solapi received type LMS');
is($got->{json}{message}{subject}, '안내',
   'with a subject: the first line by default');

$o = send_one(provider => 'solapi', channel => 'sms', to => '01012345678',
              text => ('가' x 45), id => 'n-sms-2');
is($o->{sent_as}, 0, '45 syllables (90 bytes) is still an SMS');

$o = send_one(provider => 'solapi', channel => 'sms', to => '01012345678',
              subject => '제목', text => ('나' x 50), id => 'n-lms-2');
is(last_received('solapi')->{json}{message}{subject}, '제목',
   'an LMS with its own subject');

my $n_before = () = $mock->received('solapi');
$o = send_one(provider => 'solapi', channel => 'sms', to => '01012345678',
              text => "웃음 \x{1F600}", id => 'n-emoji');
is($o->{outcome}, 'permanent', 'text EUC-KR cannot hold: permanent');
ok(!$o->{attempted}, 'not attempted');
is($o->{code}, 'invalid_message', 'invalid_message');
my $n_after = () = $mock->received('solapi');
is($n_after, $n_before, 'nothing reached Solapi');

# every request signed anew: the mock refuses a signature used twice
my %sigs;
$sigs{ ($_->{header}{authorization} =~ /signature=(\w+)/)[0] }++
    for $mock->received('solapi');
ok(!(grep { $_ > 1 } values %sigs), 'no signature was used twice');

# AlimTalk

$o = send_one(provider => 'solapi', channel => 'alimtalk',
              to => '010-9876-5432', template_id => 'TPL_ORDER_READY',
              text => '홍길동님, 주문하신 책이 준비되었습니다.',
              variables => { '이름' => '홍길동' }, fallback => JSON::PP::true,
              id => 'n-ata-1');
is($o->{outcome}, 'sent', 'solapi: an AlimTalk is sent') or diag(explain $o);
is($o->{sent_as}, 2, 'as ATA');
$got = last_received('solapi')->{json}{message};
is($got->{type}, 'ATA', 'type ATA');
is($got->{kakaoOptions}{pfId}, $MockNotify::PF_ID, 'kakaoOptions.pfId');
is($got->{kakaoOptions}{templateId}, 'TPL_ORDER_READY', 'templateId');
is_deeply($got->{kakaoOptions}{variables}, { '#{이름}' => '홍길동' },
          'variables as #{name}');
ok(!$got->{kakaoOptions}{disableSms}, 'fallback allowed: disableSms false');

$mock->{solapi}->set_mode('notkakao');
$o = send_one(provider => 'solapi', channel => 'alimtalk',
              to => '01098765432', template_id => 'TPL_ORDER_READY',
              text => 'x', id => 'n-ata-2');
is($o->{outcome}, 'permanent', 'not a KakaoTalk user: permanent');
like(flags($o), qr/fallback/, 'with F_FALLBACK: an SMS may replace it');

$mock->{solapi}->set_mode('ratelimit');
$o = send_one(provider => 'solapi', channel => 'sms', to => '01012345678',
              text => 'x', id => 'n-sms-429');
is($o->{outcome}, 'retryable', 'solapi 429: retryable');
is($o->{retry_after}, 3, 'with its Retry-After');

$mock->{solapi}->set_mode('healthy');

# an idempotency header: the same key on every attempt

$o = send_one(provider => 'keyed', channel => 'sms', to => '01012345678',
              text => 'k', id => 'n-key-1', attempt => 1);
send_one(provider => 'keyed', channel => 'sms', to => '01012345678',
         text => 'k', id => 'n-key-1', attempt => 2);
my @k = map { $_->{header}{'idempotency-key'} } ($mock->received('solapi'))[-2, -1];
is_deeply(\@k, ['ngx-notify-n-key-1', 'ngx-notify-n-key-1'],
          'both attempts carry the key derived from the notification id');
is($o->{idempotency_key}, 'ngx-notify-n-key-1', 'the outcome names it');

# Twilio

$o = send_one(provider => 'twilio', to => '(415) 555-0123', text => 'Your book is ready',
              id => 'n-tw-1');
is($o->{outcome}, 'sent', 'twilio: sent') or diag(explain $o);
like($o->{message_id}, qr/^SM[0-9a-f]{32}$/, 'the message sid');
$got = last_received('twilio');
is($got->{form}{To}, '+14155550123', 'To in E.164 (default_country=1)');
is($got->{form}{From}, '+15005550006', 'From');
is($got->{form}{Body}, 'Your book is ready', 'Body');
is($got->{form}{StatusCallback}, 'https://gw.example.com/twilio/status',
   'StatusCallback');

$mock->{twilio}->set_mode('permanent');
$o = send_one(provider => 'twilio', to => '+14155550123', text => 'x');
is($o->{outcome}, 'permanent', 'twilio 21211: permanent');
is($o->{code}, '21211', 'its code');
$mock->{twilio}->set_mode('ratelimit');
$o = send_one(provider => 'twilio', to => '+14155550123', text => 'x');
is($o->{outcome}, 'retryable', 'twilio 20429: retryable');
$mock->{twilio}->set_mode('healthy');

# SendGrid

$o = send_one(provider => 'sendgrid', to => 'Reader@Example.com',
              subject => '책이 준비되었습니다', text => '본문', html => '<p>본문</p>',
              id => 'n-sg-1');
is($o->{outcome}, 'sent', 'sendgrid: sent (202)') or diag(explain $o);
like($o->{message_id}, qr/^mock[0-9a-f]{22}$/, 'X-Message-Id is the id');
$got = last_received('sendgrid')->{json};
is($got->{personalizations}[0]{to}[0]{email}, 'Reader@example.com',
   'the recipient');
is($got->{from}{name}, 'Books', 'from name');
is_deeply([map { $_->{type} } @{ $got->{content} }],
          ['text/plain', 'text/html'], 'text then html');

$mock->{sendgrid}->set_mode('permanent');
$o = send_one(provider => 'sendgrid', to => 'a@example.com', subject => 's',
              text => 't');
is($o->{outcome}, 'permanent', 'sendgrid 400: permanent');
$mock->{sendgrid}->set_mode('healthy');

# Slack

$o = send_one(provider => 'slack', to => "#alerts", text => 'order 42 <failed> & retried',
              id => 'n-sl-1');
is($o->{outcome}, 'sent', 'slack: sent') or diag(explain $o);
like($o->{message_id}, qr{^C0123MOCK/\d+\.\d{6}$}, 'channel/ts');
is(last_received('slack', qr/chat/)->{json}{channel}, 'alerts',
   'the channel, normalized');

$mock->{slack}->set_mode('permanent');
$o = send_one(provider => 'slack', to => 'alerts', text => 'x');
is($o->{outcome}, 'permanent', 'slack ok:false inside a 200: a failure');
is($o->{code}, 'channel_not_found', 'its error');
is($o->{http_status}, 200, 'though HTTP said 200');

$mock->{slack}->set_mode('ratelimit');
$o = send_one(provider => 'slack', to => 'alerts', text => 'x');
is($o->{outcome}, 'retryable', 'slack 429: retryable');
is($o->{retry_after}, 3, 'Retry-After honoured');

$o = send_one(provider => 'hook', text => 'via webhook');
is($o->{outcome}, 'retryable', 'the webhook 429: retryable');
$mock->{slack}->set_mode('healthy');

$o = send_one(provider => 'hook', text => 'via webhook', id => 'n-wh-1');
is($o->{outcome}, 'sent', 'slack_webhook: sent') or diag(explain $o);
is(last_received('slack', qr/services/)->{json}{text}, 'via webhook',
   'the webhook got the text');

# FCM: the token fetched once, shared by the workers, then cached

my $device = 'dXb3RkExampleDeviceToken_0123456789:APA91bExample-tok';
my @pids;
for my $i (1 .. 6) {
    my $pid = fork() // die;
    if ($pid == 0) {
        my $x = send_one(provider => 'fcm', to => $device, subject => '알림',
                         text => "푸시 $i", data => { order => "$i" },
                         id => "n-fcm-$i");
        POSIX::_exit($x->{outcome} eq 'sent' ? 0 : 1);
    }
    push @pids, $pid;
}
my $ok = 0;
for (@pids) { waitpid($_, 0); $ok++ if $? == 0; }
is($ok, 6, 'fcm: six pushes at once, all sent')
    or diag(join "\n", grep { /fcm/ } split /\n/, $gw->error_log);
is(MockNotify::tokens_issued(), 1, 'with one token between the workers');

$o = send_one(provider => 'fcm', to => $device, text => 'again');
is($o->{outcome}, 'sent', 'another push');
like($o->{message_id}, qr{^projects/mock-project-1/messages/0:\d+$},
     'the message name');
is(MockNotify::tokens_issued(), 1, 'the cached token');
$got = last_received('fcm', qr/messages:send/);
is($got->{json}{message}{token}, $device, 'the device token');

# a 401: the token is dropped, the next send fetches a new one

$mock->reauth;
$o = send_one(provider => 'fcm', to => $device, text => 'x');
is($o->{outcome}, 'retryable', 'a revoked token: retryable');
like(flags($o), qr/reauth/, 'with F_REAUTH');
$mock->{fcm}->set_mode('healthy');
$o = send_one(provider => 'fcm', to => $device, text => 'x');
is($o->{outcome}, 'sent', 'the next send is sent');
is(MockNotify::tokens_issued(), 2, 'with a new token');

# refreshed ahead of its end, in the background: an 8 s token is
# refreshed from 4 s (by the first send to see it, which goes on with the
# old one) and used until 6 s (nginx's clock is in whole seconds: 4.5 s
# after the fetch it reads 4 or 5 s); 16 s under valgrind

my ($short, $nap) = $VG ? (16, 9) : (8, 4.5);
$mock->set_token_ttl($short);
$mock->reauth;
send_one(provider => 'fcm', to => $device, text => 'x');
$mock->{fcm}->set_mode('healthy');
$o = send_one(provider => 'fcm', to => $device, text => 'x');
is($o->{outcome}, 'sent', 'sent with a short-lived token');
my $issued = MockNotify::tokens_issued();
my $old = last_received('fcm', qr/messages:send/)->{header}{authorization};
sleep $nap;
$o = send_one(provider => 'fcm', to => $device, text => 'x');
is($o->{outcome}, 'sent', 'sent after its refresh time');
is(last_received('fcm', qr/messages:send/)->{header}{authorization}, $old,
   'with the old token, still good');
for (1 .. 50) { last if MockNotify::tokens_issued() > $issued; sleep 0.1; }
is(MockNotify::tokens_issued(), $issued + 1, 'which it refreshed meanwhile');
# the mock counts a token as it answers: the gateway has it a moment later
my $fresh;
for (1 .. ($VG ? 40 : 10)) {
    $o = send_one(provider => 'fcm', to => $device, text => 'x');
    last if $o->{outcome} ne 'sent';
    $fresh = last_received('fcm', qr/messages:send/)->{header}{authorization};
    last if $fresh ne $old;
    sleep 0.1;
}
is($o->{outcome}, 'sent', 'the sends meanwhile are sent');
isnt($fresh // $old, $old, 'and the next ones have the fresh token');
is(MockNotify::tokens_issued(), $issued + 1, '  fetched once');

# sends keep flowing over several refreshes, through both workers: the
# token endpoint takes $delay s to answer, yet no send after the first
# waits on it (each takes well under $delay s); one exchange per refresh
# (never two within half a token's life), and FCM never sees a bearer
# past its end

my ($ttl, $delay) = $VG ? (20, 3) : (8, 1);
$mock->set_token_ttl($ttl);
$mock->set_token_delay($delay);
$mock->reauth;
send_one(provider => 'fcm', to => $device, text => 'x');
$mock->{fcm}->set_mode('healthy');
$o = send_one(provider => 'fcm', to => $device, text => 'first');
is($o->{outcome}, 'sent', 'refresh: the first send fetches the token');
my $t0 = time;
my $first_token = MockNotify::tokens_issued();
my $flow = "$gw->{dir}/flow";
@pids = ();
for my $k (1 .. 3) {
    my $pid = fork() // die;
    if ($pid == 0) {
        open my $f, '>', "$flow.$k" or POSIX::_exit(2);
        my $i = 0;
        while (time < $t0 + 2 * $ttl + 1) {
            my $t = time;
            my $x = send_one(provider => 'fcm', to => $device,
                             text => "flow $k " . $i++);
            printf $f "%s %.3f %.3f\n", $x->{outcome} // 'none', $t,
                   time - $t;
            sleep 0.2;
        }
        close $f;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid($_, 0) for @pids;
my (@sends, %outcomes);
for my $k (1 .. 3) {
    open my $f, '<', "$flow.$k" or next;
    while (<$f>) { my @x = split; push @sends, \@x; $outcomes{$x[0]}++; }
}
my $slowest = 0;
$slowest < $_->[2] and $slowest = $_->[2] for @sends;
ok(@sends > 20, 'refresh: ' . scalar(@sends) . ' sends over '
   . (2 * $ttl + 1) . ' s');
is_deeply(\%outcomes, { sent => scalar @sends }, 'every one sent')
    or diag(explain \%outcomes);
cmp_ok($slowest, '<', $delay, "none waited on the token exchange "
       . "(slowest ${slowest} s)");
my @times = MockNotify::token_times();
my @new = @times[$first_token - 1 .. $#times];
cmp_ok(scalar(@new), '>=', 3, 'refresh: ' . scalar(@new)
       . ' tokens over the run (refreshed ahead of each end)');
cmp_ok(scalar(@new), '<=', 2 + int((2 * $ttl + 1) / ($ttl / 2)),
       'one exchange per refresh, not one per worker');
my $closest = 1e9;
for my $i (1 .. $#new) {
    my $gap = $new[$i][0] - $new[$i - 1][0];
    $closest = $gap if $gap < $closest;
}
cmp_ok($closest, '>=', $ttl / 2 - 0.5,
       "no two exchanges within half a token's life (closest ${closest} s)");
my $late = 0;
for my $r ($mock->received('fcm', qr/messages:send/)) {
    my ($bearer) = ($r->{header}{authorization} // '') =~ /^Bearer (\S+)$/;
    my ($tok, $exp) = MockNotify::token_of($bearer // '');
    $late++ if !$tok || ($r->{time} // 0) >= $exp;
}
is($late, 0, 'no send carried a token past its end');
$mock->set_token_delay(0);
$mock->set_token_ttl(3600);

$mock->{fcm}->set_mode('permanent');
$o = send_one(provider => 'fcm', to => $device, text => 'x');
is($o->{outcome}, 'permanent', 'UNREGISTERED: permanent');
like(flags($o), qr/prune/, 'the device token is to be dropped');

$mock->reauth;
send_one(provider => 'fcm', to => $device, text => 'x');
$mock->{fcm}->set_mode('tokenfail');
$o = send_one(provider => 'fcm', to => $device, text => 'x');
is($o->{outcome}, 'retryable', 'the token endpoint refuses: retryable');
ok(!$o->{attempted}, 'the push was not sent');
like(flags($o), qr/config/, 'flagged as configuration');
$mock->{fcm}->set_mode('healthy');

# limits: nothing sent, RETRYABLE with when

$mock->clear;
$o = send_one(provider => 'limited', to => 'alerts', text => '1');
is($o->{outcome}, 'sent', 'rate limit: the first is sent');
$o = send_one(provider => 'limited', to => 'alerts', text => '2');
$o = send_one(provider => 'limited', to => 'alerts', text => '3')
    if $o->{outcome} eq 'sent';
is($o->{outcome}, 'retryable', 'past the rate: retryable');
is($o->{code}, 'rate_limited', 'rate_limited');
ok(!$o->{attempted}, 'nothing sent');
ok($o->{retry_after_ms} > 0 && $o->{retry_after} > 0, 'with a wait');

$mock->{sendgrid}->set_mode('failing');
send_one(provider => 'broken', to => 'a@example.com', subject => 's',
         text => 't') for 1 .. 3;
$o = send_one(provider => 'broken', to => 'a@example.com', subject => 's',
              text => 't');
is($o->{outcome}, 'retryable', 'the breaker open: retryable');
is($o->{code}, 'circuit_open', 'circuit_open');
ok(!$o->{attempted}, 'nothing sent');
$mock->{sendgrid}->set_mode('healthy');

# concurrency=1 is per worker: the provider holds every send it gets
# (mode held), and five sends start one after another; each worker
# holds at most one, so at least three of the five are refused at once

{
    $mock->{twilio}->set_mode('held');
    my $dir = $gw->dir;
    my @kids;
    for my $k (1 .. 5) {
        my $pid = fork() // die;
        if ($pid == 0) {
            my $o = send_one(provider => 'narrow', to => '+14155550123',
                             text => "narrow $k");
            open my $fh, '>', "$dir/narrow.$k" or die;
            print $fh $o->{code} || $o->{outcome} || 'none';
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, $pid;
        sleep($VG ? 1.5 : 0.3);
    }
    my $answered = sub { scalar grep { -e "$dir/narrow.$_" } 1 .. 5 };
    my $deadline = time + ($VG ? 30 : 10);
    sleep 0.1 while $answered->() < 3 && time < $deadline;
    $mock->{twilio}->set_mode('healthy');
    waitpid($_, 0) for @kids;
    my @codes = map { $gw->read_file("narrow.$_") } 1 .. 5;
    cmp_ok(scalar(grep { $_ eq 'concurrency' } @codes), '>=', 3,
           'concurrency=1: a send while one is in flight is refused')
        or diag explain \@codes;
    cmp_ok(scalar(grep { $_ eq 'sent' } @codes), '>=', 1,
           'and the held one is sent once the provider answers')
        or diag explain \@codes;
}

# transport

$o = send_one(provider => 'nowhere', to => 'alerts', text => 'x');
is($o->{outcome}, 'retryable', 'connection refused: retryable');
is($o->{code}, 'connect', 'connect');
unlike(flags($o), qr/ambiguous/, 'not ambiguous');

$mock->{slack}->set_mode('slow');
$o = send_one(provider => 'hasty', to => 'alerts', text => 'x');
is($o->{outcome}, 'retryable', 'a timeout: retryable');
like(flags($o), qr/ambiguous/, 'ambiguous: it may have been received');
$mock->{slack}->set_mode('healthy');

# through the API: templates rendered at the request, the outbox, the
# delivery worker, the provider

sub enqueue {
    my (%n) = @_;
    my $r = $gw->request('POST', '/notifications/bulk',
                         headers => { 'Content-Type' => 'application/json' },
                         body => $J->encode({ items => [\%n] }));
    my $b = eval { $J->decode($r->{body}) } // {};
    return ($r->{status}, $b->{items} ? $b->{items}[0]{id} : undef, $b);
}

sub get_status {
    my ($id) = @_;
    my $g = $gw->get("/notifications/$id");
    return (eval { $J->decode($g->{body}) } // {})->{status} // '';
}

# settled, for one not due before $at
sub settled_after {
    my ($id, $at) = @_;
    sleep 0.1 while time < $at;
    return settled($id);
}

sub settled {
    my ($id) = @_;
    my $st = {};
    for (1 .. ($VG ? 300 : 100)) {
        my $g = $gw->get("/notifications/$id");
        $st = eval { $J->decode($g->{body}) } // {};
        last if ($st->{status} // 'queued') !~ /^(queued|sending)$/;
        sleep 0.1;
    }
    return $st;
}

$mock->clear;
my ($st, $id, $b) = enqueue(channel => 'sms', to => '010-2222-3333',
                            template => 'ready_sms',
                            data => { name => '홍길동' });
is($st, 202, 'API: a Korean SMS from a template is queued');
my $s = settled($id);
is($s->{status}, 'sent', 'and sent') or diag(explain $s);
like($s->{provider_message_id} // '', qr/^M4V/, 'with Solapi\'s messageId');
$got = last_received('solapi')->{json}{message};
is($got->{type}, 'SMS', 'Solapi got an SMS');
is($got->{text}, '[책방] 홍길동님, 주문하신 책이 준비되었습니다.',
   'the rendered text');
is($got->{to}, '01022223333', 'to the normalized number');

($st, $id) = enqueue(channel => 'sms', to => '01022223333',
                     template => 'long_sms', data => { name => '홍길동' });
$s = settled($id);
is($s->{status}, 'sent', 'API: a long Korean text is sent');
$got = last_received('solapi')->{json}{message};
is($got->{type}, 'LMS', 'as an LMS');
is($got->{subject}, '주문 안내', 'with the template\'s subject');

my $before_422 = () = $mock->received('solapi');
($st, $id, $b) = enqueue(channel => 'sms', to => '01022223333',
                         text => "이모지 \x{1F600} 포함");
is($st, 422, 'API: text EUC-KR cannot hold is refused at the request');
like($b->{detail} // '', qr/U\+1F600/, 'naming the character')
    or diag(explain $b);
my $after_422 = () = $mock->received('solapi');
is($after_422, $before_422, 'and nothing is sent');

($st, $id) = enqueue(channel => 'alimtalk', to => '010-4444-5555',
                     template => 'ready_ata', data => { name => '김철수' });
$s = settled($id);
is($s->{status}, 'sent', 'API: an AlimTalk from a template is sent')
    or diag(explain $s);
$got = last_received('solapi')->{json}{message};
is($got->{type}, 'ATA', 'as ATA');
is($got->{kakaoOptions}{templateId}, 'TPL_ORDER_READY',
   'with the template\'s AlimTalk id');
is_deeply($got->{kakaoOptions}{variables}, { '#{name}' => '김철수' },
          'and its variables');
is($got->{text}, '김철수님, 주문하신 책이 준비되었습니다.', 'the text');

($st, $id) = enqueue(channel => 'us_sms', to => '+1 415 555 0199',
                     text => 'Your book is ready');
$s = settled($id);
is($s->{status}, 'sent', 'API: Twilio');
is(last_received('twilio')->{form}{To}, '+14155550199', 'To in E.164');

($st, $id) = enqueue(channel => 'email', to => 'reader@example.com',
                     subject => '안내', text => '본문', html => '<b>본문</b>');
$s = settled($id);
is($s->{status}, 'sent', 'API: SendGrid');
like($s->{provider_message_id} // '', qr/^mock/, 'its X-Message-Id');

($st, $id) = enqueue(channel => 'push', to => $device, subject => '제목',
                     text => '푸시');
$s = settled($id);
is($s->{status}, 'sent', 'API: FCM');
ok(!exists last_received('fcm', qr/messages:send/)->{json}{message}{data},
   'no push_data, no message.data');

# push_data: FCM's message.data, strings only, sent as it is

sub post_one {
    my (%n) = @_;
    my $r = $gw->request('POST', '/notifications',
                         headers => { 'Content-Type' => 'application/json' },
                         body => $J->encode(\%n));
    return ($r, eval { $J->decode($r->{body}) } // {});
}

my ($r, $pb) = post_one(channel => 'push', to => $device, text => '배송 시작',
                        push_data => { order => '42', badge => 3 });
is($r->{status}, 422, 'API: push_data with a number is a 422');
like($r->{headers}{'content-type'} // '', qr{^application/problem\+json},
     'problem+json');
is($pb->{field}, 'push_data.badge', 'naming push_data.badge')
    or diag(explain $pb);

for my $reserved ('from', 'google.c.a.e') {
    ($r, $pb) = post_one(channel => 'push', to => $device, text => 'x',
                         push_data => { order => '42', $reserved => '1' });
    is($r->{status}, 422, "API: push_data.$reserved (FCM reserves it) is a"
       . ' 422');
    is($pb->{field}, "push_data.$reserved", "naming push_data.$reserved")
        or diag(explain $pb);
}

($r, $pb) = post_one(channel => 'sms', to => '01022223333', text => 'x',
                     push_data => { a => 'b' });
is($r->{status}, 422, 'API: push_data on an SMS is a 422');
is($pb->{field}, 'push_data', 'naming push_data');

my %pd = (order => '42', deep_link => 'books://order/42', 이름 => '홍길동',
          empty => '');
my $fcm_before = () = $mock->received('fcm', qr/messages:send/);
my $sendable = time + ($VG ? 40 : 4);
($r, $pb) = post_one(channel => 'push', to => $device, subject => '주문',
                     text => '배송 시작', push_data => \%pd,
                     send_at => int($sendable) + 1);
is($r->{status}, 202, 'API: a push with push_data is queued')
    or diag($r->{body});
$id = $pb->{id};
is(get_status($id), 'queued', 'not due yet');

# durable: the data is in the outbox, not in a worker's memory

$gw->stop;
$gw->start(http => encode('UTF-8', $conf));
$s = settled_after($id, $sendable);
is($s->{status}, 'sent', 'sent after a restart') or diag(explain $s);
my @fcm_after = $mock->received('fcm', qr/messages:send/);
is(scalar(@fcm_after), $fcm_before + 1, 'once');
is_deeply($fcm_after[-1]{json}{message}{data}, \%pd,
          'message.data is push_data, every value a string');
is($fcm_after[-1]{json}{message}{notification}{body}, '배송 시작',
   'beside the notification');

($st, $id) = enqueue(channel => 'slack', to => '#alerts', text => 'deploy done');
$s = settled($id);
is($s->{status}, 'sent', 'API: Slack');

$mock->{slack}->set_mode('permanent');
($st, $id) = enqueue(channel => 'slack', to => '#alerts', text => 'x');
$s = settled($id);
is($s->{status}, 'failed', 'API: Slack ok:false is a failed notification');
$mock->{slack}->set_mode('healthy');

# privacy

my $log = $gw->error_log;
unlike($log, qr/01012345678|01098765432|\+14155550123/,
       'no phone number in the error log');
unlike($log, qr/MockWebhookSecret0001/, 'no webhook URL secret');
unlike($log, qr/mock-(solapi|twilio|sendgrid|slack)-|ya29\./,
       'no key or token');
like($log, qr/010-\*\*\*\*-5678/, 'the masked recipient is');

$gw->stop;

# nginx -t names what is wrong

my $t = Gateway->new;
$mock->write_keys($t);
$t->write_file('bad_twilio.key', "not-a-sid\n");
my @bad = (
    ['type=bogus key_file=%%DIR%%/slack.key', qr/invalid parameter "type=bogus"/],
    ['key_file=%%DIR%%/slack.key', qr/needs "type="/],
    ['type=slack', qr/needs "key_file="/],
    ['type=solapi key_file=%%DIR%%/solapi.key from=abc',
     qr/invalid parameter "from=abc"/],
    ['type=slack key_file=%%DIR%%/slack.key pf_id=x',
     qr/parameter "pf_id=" is not one of type slack/],
    ['type=slack key_file=%%DIR%%/slack.key base_url=ftp://x',
     qr/invalid parameter "base_url=ftp:\/\/x"/],
    ['type=twilio key_file=%%DIR%%/bad_twilio.key from=+15005550006',
     qr/"key_file=.*bad_twilio.key" must hold AccountSid:AuthToken/],
    ['type=slack key_file=%%DIR%%/slack.key rate_limit=nosuch',
     qr/nosuch/],
    ['type=smtp from=a@example.com', qr/needs "base_url=smtp/],
    ['type=slack key_file=%%DIR%%/slack.key concurrency=0',
     qr/invalid parameter "concurrency=0"/],
    ['type=fcm key_file=%%DIR%%/slack.key',
     qr/is not a usable service-account key/],
    ['type=slack key_file=%%DIR%%/slack.key timeout=0',
     qr/invalid parameter "timeout=0"/],
    ['type=slack key_file=%%DIR%%/slack.key connect_timeout=soon',
     qr/invalid parameter "connect_timeout=soon"/],
);
for my $b (@bad) {
    my ($passed, $out) = $t->test_config(http => "notify_provider x $b->[0];");
    ok(!$passed, "nginx -t refuses: $b->[0]");
    like($out, $b->[1], 'naming it') or diag($out);
    unlike($out, qr/mock-|xoxb/, 'and no secret');
}

# the README's example passes nginx -t, with key files of the right shapes

open my $rd, '<:encoding(UTF-8)', 'README.md' or die "README.md: $!";
my $readme = do { local $/; <$rd> };
my ($example) = $readme =~ /^(    notify_provider  sms .*?)\n\n/ms;
ok($example, 'the README has the notify_provider example');
my %shape = (solapi => "NCSKEY:secret\n",
             twilio => "AC0123456789abcdef0123456789abcdef:token\n",
             smtp => "user:password\n", sendgrid => "SG.key\n",
             'fcm.json' => $mock->fcm_key_json, slack => "xoxb-1\n",
             'slack-webhook' => "https://hooks.slack.com/services/T/B/x\n");
$t->write_file("readme-$_", $shape{$_}) for keys %shape;
(my $ex = $example // '') =~ s{/etc/nginx/secrets/}{%%DIR%%/readme-}g;
my ($passed, $out) = $t->test_config(http => encode('UTF-8', <<"CONF"));
    rate_limit_zone \$binary_remote_addr zone=slack:64k rate=1r/s;
    circuit_breaker_zone zone=providers:64k;
$ex
CONF
ok($passed, "nginx -t takes the README's example") or diag($out);

done_testing();
