# The notifications API and its outbox, end to end on SQLite and on
# PostgreSQL: POST /notifications (a Korean SMS from a template, 202 once
# durable), validation naming the field, idempotency keys, bulk, GET with
# every attempt; delivery through the provider stand-ins of
# t/lib/MockNotify.pm (which check each wire format with their own code):
# an outage and its recovery (two attempts refused, the third sent, none
# lost, every attempt with the same key), 429 with Retry-After respected,
# an AlimTalk falling back to SMS, a send that may have reached a
# provider that does not deduplicate (unknown, alerted with the masked
# recipient), Twilio status callbacks; the metrics; template errors at
# nginx -t and at request time.

use strict;
use warnings;
use utf8;

use Digest::SHA qw(hmac_sha1);
use Encode qw(encode decode);
use JSON::PP;
use MIME::Base64;
use Test::More;
use Time::HiRes qw(sleep time);

use Gateway;
use MockNotify;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $J = JSON::PP->new->utf8->canonical;
my $T = $VG ? '30s' : '10s';   # a loaded machine: no timeout, no unknown

# templates

my $tpl_dir;

sub templates {
    my ($gw) = @_;
    $gw->write_file('ready.txt', encode('UTF-8',
        "[책방] {{name}}님, 주문하신 책이 준비되었습니다.\n"), 0644);
    $gw->write_file('welcome.kakao', encode('UTF-8',
        "{{name}}님, 가입을 환영합니다.\n"), 0644);
    $gw->write_file('mail.txt', encode('UTF-8',
        "Subject: {{name}}님, 영수증\n--- text\n합계 {{total}}원\n"
        . "--- html\n<p>합계 <b>{{total}}</b>원</p>\n"), 0644);
}

sub http_conf {
    my ($st, %a) = @_;
    my $store = $st->directive;
    my $retention = $a{retention} // '30d';
    return encode('UTF-8', $store . <<"CONF");
    integrations_outbound_bind 127.0.0.1;

    notify_provider sms_kr type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=02-9302-2266 pf_id=$MockNotify::PF_ID timeout=$T;
    notify_provider keyed type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=0293022266 idempotency_header=Idempotency-Key
                    timeout=$T;
    notify_provider hasty type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=0293022266 timeout=1s;
    notify_provider twilio type=twilio key_file=%%DIR%%/twilio.key
                    base_url=http://127.0.0.1:%%PORT:twilio%%
                    from=+15005550006 default_country=1
                    status_callback=https://gw.example.com/notifications/receipts/twilio
                    timeout=$T;
    notify_provider ops type=slack key_file=%%DIR%%/slack.key
                    base_url=http://127.0.0.1:%%PORT:slack%% timeout=$T;

    notify_route sms sms_kr;
    notify_route sms keyed;
    notify_route sms hasty;
    notify_route alimtalk sms_kr type=alimtalk;
    notify_route intl twilio;
    notify_route ops ops;

    notify_template ready file=%%DIR%%/ready.txt;
    notify_template welcome file=%%DIR%%/welcome.kakao
                    alimtalk_template_id=TP_WELCOME_1;

    notify_retry attempts=4 max_age=1h base=300ms cap=2s;
    notify_alert ops channel=#alerts;
    notify_delivery interval=100ms;
    notify_retention $retention;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        client_max_body_size 4m;
        location /notifications {
            notify_api;
        }
        location = /notifications/receipts/twilio {
            webhook_verify twilio secret_file=%%DIR%%/twilio.token
                           url=https://gw.example.com/notifications/receipts/twilio;
            notify_api;
        }
        location = /metrics {
            integrations_status;
        }
    }
CONF
}

sub post {
    my ($gw, $path, $obj, %h) = @_;
    my $r = $gw->request('POST', $path, body => $J->encode($obj),
                         headers => { 'Content-Type' => 'application/json',
                                      %h }, timeout => $VG ? 60 : 10);
    $r->{json} = eval { $J->decode($r->{body}) };
    return $r;
}

sub get_n {
    my ($gw, $id) = @_;
    my $r = $gw->get("/notifications/$id", timeout => $VG ? 60 : 10);
    $r->{json} = eval { $J->decode($r->{body}) };
    return $r;
}

sub wait_status {
    my ($gw, $id, $want, $secs) = @_;
    my $last;
    Store::wait_for(sub {
        $last = get_n($gw, $id)->{json};
        return $last && $last->{status} eq $want;
    }, $secs);
    return $last;
}

sub solapi_to {
    my ($mock, $type) = @_;
    return grep { ($_->{json}{message}{type} // '') eq $type }
           $mock->received('solapi');
}

# each backend's half has its own gateway and stand-ins
# (Store->each_backend: at once in the plain run)
Store->each_backend(sub {
    my ($backend) = @_;
    my $t = "[$backend]";

    my $gw = Gateway->new(workers => 2);
    my $mock = MockNotify->new(gw => $gw);
    $mock->write_keys($gw);
    my (undef, $token) = split /:/, $MockNotify::SECRET{twilio}, 2;
    $gw->write_file('twilio.token', "$token\n");
    templates($gw);

    my $st = Store->new($backend, $gw);
    $gw->start(http => http_conf($st));

    # the store answers (a first connection is slow under valgrind)
    Store::wait_for(sub {
        $gw->get('/notifications/ntf_0')->{status} == 404 });

    # a Korean SMS from a template: 202 once durable, then sent

    my $r = post($gw, '/notifications', { channel => 'sms',
        to => '010-1234-5678', template => 'ready',
        data => { name => '홍길동' } });
    is($r->{status}, 202, "$t POST /notifications: 202") or diag $r->{body};
    my $id = $r->{json}{id} // '';
    like($id, qr/^ntf_[0-9a-f]{32}$/, "$t   an id");
    # time first (the id index grows at its end): the creation time in ms
    my ($ms) = $id =~ /^ntf_([0-9a-f]{12})/;
    ok($ms && abs(do { no warnings 'portable'; hex($ms) } / 1000 - time)
             < 60, "$t   that starts with"
       . ' its creation time');
    is($r->{json}{status}, 'queued', "$t   queued");

    my $n = wait_status($gw, $id, 'sent');
    is($n->{status}, 'sent', "$t   then sent") or diag explain $n;
    is($n->{to}, '010-****-5678', "$t   GET shows the masked recipient");
    is(scalar @{ $n->{attempts} // [] }, 1, "$t   one attempt");
    like($n->{attempts}[0]{provider_message_id} // '', qr/^M4V/,
         "$t   with the provider's message id");
    my @sms = solapi_to($mock, 'SMS');
    is(scalar @sms, 1, "$t Solapi received one SMS");
    is($sms[0]{json}{message}{text},
       '[책방] 홍길동님, 주문하신 책이 준비되었습니다.', "$t   the rendered text");
    is($sms[0]{json}{message}{to}, '01012345678', "$t   to, normalized");

    # validation, naming the field

    $r = post($gw, '/notifications', { channel => 'fax', to => '1',
                                        text => 'x' });
    is($r->{status}, 422, "$t an unknown channel: 422");
    is($r->{json}{field}, 'channel', "$t   naming the field");
    $r = post($gw, '/notifications', { channel => 'sms', to => '02-123',
                                        text => 'x' });
    is($r->{status}, 422, "$t a bad recipient: 422");
    is($r->{json}{field}, 'to', "$t   naming \"to\"");
    unlike($r->{body}, qr/02-123/, "$t   without quoting it");
    $r = post($gw, '/notifications', { channel => 'sms', to => '01012345678',
                                        template => 'ready', data => {} });
    is($r->{status}, 422, "$t a variable the data lacks: 422");
    is($r->{json}{field}, 'data.name', "$t   naming data.name");
    $r = $gw->request('POST', '/notifications', body => '{"channel":',
                      headers => { 'Content-Type' => 'application/json' });
    is($r->{status}, 400, "$t not JSON: 400");
    $r = get_n($gw, 'ntf_00000000000000000000000000000000');
    is($r->{status}, 404, "$t GET of an unknown id: 404");

    # idempotency

    my %once = (channel => 'sms', to => '01022223333', text => '한 번만',
                idempotency_key => "once-$backend");
    my $a = post($gw, '/notifications', \%once);
    my $b = post($gw, '/notifications', \%once);
    is($a->{status}, 202, "$t a key's first: 202");
    is($b->{status}, 202, "$t   the same again: 202");
    is($b->{json}{id}, $a->{json}{id}, "$t   the first notification");
    is($b->{headers}{'idempotent-replayed'}, 'true',
       "$t   Idempotent-Replayed: true");
    my $c = post($gw, '/notifications', { %once, text => '다른 내용' });
    is($c->{status}, 422, "$t   the key with another body: 422");
    is($c->{json}{type}, 'urn:integrations:problem:idempotency_key_reused',
       "$t   idempotency_key_reused");
    wait_status($gw, $a->{json}{id}, 'sent');
    is(scalar(grep { $_->{json}{message}{text} eq '한 번만' }
              $mock->received('solapi')), 1, "$t   sent once");

    # bulk: per-item results, all delivered

    my @items = map { { channel => 'sms', to => sprintf('0103000%04d', $_),
                        text => "대량 $_" } } 1 .. 50;
    $r = post($gw, '/notifications/bulk', { items => \@items });
    is($r->{status}, 202, "$t bulk of 50: 202") or diag $r->{body};
    is(scalar @{ $r->{json}{items} // [] }, 50, "$t   50 results");
    my @bulk = map { $_->{id} } @{ $r->{json}{items} // [] };
    ok(Store::wait_for(sub {
        (grep { ($_->{json}{message}{text} // '') =~ /^대량 / }
         $mock->received('solapi')) >= 50 }), "$t   all 50 sent");
    # the provider has it before the sender records the outcome
    $n = wait_status($gw, $bulk[49], 'sent');
    is($n->{status}, 'sent', "$t   the last: sent") or diag explain $n;

    $r = post($gw, '/notifications/bulk', { items => [ @items[0 .. 2],
        { channel => 'sms', to => 'x', text => 'y' } ] });
    is($r->{status}, 422, "$t a bulk with a bad item: 422");
    is($r->{json}{field}, 'items[3].to', "$t   naming items[3].to");

    # an outage, then recovery: retried, none lost (the "keyed" provider
    # deduplicates: a send cut off mid-way is sent again with the same
    # key).  The provider restarts (the connections curl keeps to it
    # closed: on one of those, a refusal would be resent within the
    # attempt), refuses two sends and is back: ended by the test on
    # seeing the second attempt, the outage could outlast all four, as
    # full jitter can put attempts 2 to 4 within one poll

    $mock->{solapi}->set_mode('down', 2);
    $mock->{solapi}->restart;
    my $o = post($gw, '/notifications', { channel => 'sms',
        provider => 'keyed', to => '01044445555', text => '장애 후 복구' });
    $n = wait_status($gw, $o->{json}{id}, 'sent', $VG ? 60 : 15);
    is($n->{status}, 'sent', "$t outage: sent once the provider is back")
        or diag explain $n;
    my @att = @{ $n->{attempts} // [] };
    is(join(',', map { $_->{outcome} // '' } @att), 'retry,retry,sent',
       "$t   on the third attempt, the two before refused")
        or diag explain \@att;
    my @keys = map { $_->{header}{'idempotency-key'} // '' }
               grep { ($_->{json}{message}{text} // '') eq '장애 후 복구' }
               $mock->received('solapi');
    my %k = map { $_ => 1 } @keys;
    ok(@keys == 3 && keys %k == 1 && $keys[0] =~ /^ngx-notify-ntf_/,
       "$t   the provider got each attempt with the same key: $keys[0]");
    my @gaps = map { $att[$_]{at} cmp $att[$_ - 1]{at} } 1 .. $#att;
    ok(!grep({ $_ < 0 } @gaps), "$t   attempts in time order");

    # 429 with Retry-After: 3 is respected

    $mock->{solapi}->set_mode('ratelimit');
    my $rl = post($gw, '/notifications', { channel => 'sms',
        to => '01055556666', text => '천천히' });
    ok(Store::wait_for(sub {
        (grep { ($_->{json}{message}{text} // '') eq '천천히' }
         $mock->received('solapi')) >= 1 }), "$t 429: the first attempt");
    sleep 0.5;
    $mock->{solapi}->set_mode('healthy');
    $n = wait_status($gw, $rl->{json}{id}, 'sent', $VG ? 60 : 15);
    my @times = map { $_->{time} }
                grep { ($_->{json}{message}{text} // '') eq '천천히' }
                $mock->received('solapi');
    is($n->{status}, 'sent', "$t   then sent");
    ok(@times >= 2 && $times[1] - $times[0] >= 2.9,
       sprintf("$t   not before Retry-After: %.2f s later",
               @times >= 2 ? $times[1] - $times[0] : -1));

    # AlimTalk that Kakao cannot deliver: the same text as SMS

    $mock->{solapi}->set_mode('notkakao');
    my $at = post($gw, '/notifications', { channel => 'alimtalk',
        to => '01066667777', template => 'welcome',
        data => { name => '김철수' }, fallback => JSON::PP::true });
    is($at->{status}, 202, "$t an AlimTalk: 202") or diag $at->{body};
    $n = wait_status($gw, $at->{json}{id}, 'sent', $VG ? 60 : 15);
    $mock->{solapi}->set_mode('healthy');
    is($n->{status}, 'sent', "$t   sent") or diag explain $n;
    ok($n->{fallback_used}, "$t   by the SMS fallback");
    my @ata = grep { ($_->{json}{message}{to} // '') eq '01066667777' }
              $mock->received('solapi');
    is(join(',', map { $_->{json}{message}{type} } @ata), 'ATA,SMS',
       "$t   Solapi got the AlimTalk, then the SMS");
    is($ata[-1]{json}{message}{text}, '김철수님, 가입을 환영합니다.',
       "$t   with the same text");

    # a send that may have reached a provider that does not deduplicate:
    # unknown, and the operator alerted with the masked recipient

    $mock->{solapi}->set_mode('slow');
    my $u = post($gw, '/notifications', { channel => 'sms',
        provider => 'hasty', to => '01077778888', text => '비밀 본문' });
    $n = wait_status($gw, $u->{json}{id}, 'unknown', $VG ? 90 : 20);
    $mock->{solapi}->set_mode('healthy');
    is($n->{status}, 'unknown', "$t a timeout after sending: unknown")
        or diag explain $n;
    is(scalar(grep { ($_->{json}{message}{text} // '') eq '비밀 본문' }
              $mock->received('solapi')), 1, "$t   not sent again");
    my @alerts;
    Store::wait_for(sub {
        @alerts = grep { ($_->{json}{text} // '') =~ /\Q$u->{json}{id}\E/ }
                  $mock->received('slack');
        return @alerts;
    });
    is(scalar @alerts, 1, "$t   one alert");
    like($alerts[0]{json}{text} // '', qr/010-\*\*\*\*-8888/,
         "$t   naming the masked recipient");
    unlike($alerts[0]{json}{text} // '', qr/비밀|01077778888/,
           "$t   never the body or the number");
    is($alerts[0]{json}{channel}, 'alerts', "$t   to notify_alert's channel");

    # Twilio: sent, then its status callback says delivered

    my $tw = post($gw, '/notifications', { channel => 'intl',
        to => '+1 415 555 0123', text => 'Your code is 1234' });
    $n = wait_status($gw, $tw->{json}{id}, 'sent');
    my $sid = $n->{provider_message_id} // '';
    like($sid, qr/^SM/, "$t twilio: sent with its sid");
    my $url = 'https://gw.example.com/notifications/receipts/twilio';
    my %cb = (MessageSid => $sid, MessageStatus => 'delivered',
              AccountSid => (split /:/, $MockNotify::SECRET{twilio})[0],
              To => '+14155550123');
    my $data = $url . join '', map { $_ . $cb{$_} } sort keys %cb;
    my $sig = encode_base64(hmac_sha1($data, $token), '');
    my $form = join '&', map { "$_=" . uri($cb{$_}) } sort keys %cb;
    $r = $gw->request('POST', '/notifications/receipts/twilio', body => $form,
                      headers => { 'Content-Type' =>
                                   'application/x-www-form-urlencoded',
                                   'X-Twilio-Signature' => $sig });
    is($r->{status}, 204, "$t   the status callback: 204") or diag $r->{body};
    is(get_n($gw, $tw->{json}{id})->{json}{status}, 'delivered',
       "$t   delivered");
    $r = $gw->request('POST', '/notifications/receipts/twilio', body => $form,
                      headers => { 'Content-Type' =>
                                   'application/x-www-form-urlencoded',
                                   'X-Twilio-Signature' => 'AAAA' });
    is($r->{status}, 401, "$t   a forged one: 401");

    # metrics

    my $m = $gw->get('/metrics')->{body};
    like($m, qr/^integrations_notify_queued_total\{channel="sms",provider="sms_kr"\} \d+/m,
         "$t metrics: queued per channel and provider");
    like($m, qr/^integrations_notify_sent_total\{channel="sms",provider="sms_kr"\} [1-9]/m,
         "$t   sent");
    like($m, qr/^integrations_notify_delivered_total\{channel="intl",provider="twilio"\} 1$/m,
         "$t   delivered");
    like($m, qr/^integrations_notify_unknown_total\{channel="sms",provider="hasty"\} 1$/m,
         "$t   unknown");
    like($m, qr/^integrations_notify_fallbacks_total\{channel="alimtalk",provider="sms_kr"\} 1$/m,
         "$t   fallbacks");
    like($m, qr/^integrations_notify_retries_total\{channel="sms",provider="keyed"\} [1-9]/m,
         "$t   retries");
    like($m, qr/^integrations_notify_send_duration_seconds_count\{provider="sms_kr"\} [1-9]/m,
         "$t   the send latency histogram");
    like($m, qr/^integrations_notify_outbox_depth \d+$/m, "$t   outbox depth");
    like($m, qr/^integrations_notify_oldest_due_seconds \d+$/m,
         "$t   the oldest due row's age");

    # the log: one JSON line per send, the recipient masked

    my $log = $gw->error_log;
    like($log, qr/\{"notify":\{"id":"\Q$id\E","channel":"sms","provider":"sms_kr","to":"010-\*\*\*\*-5678","attempt":1,"outcome":"sent"/,
         "$t the JSON log line of a send, masked");
    unlike($log, qr/01012345678|홍길동|비밀/, "$t   no number or body in the log");
    diag(join "\n", grep { /integrations_store|\[(warn|error)\]/ }
                    split /\n/, $log) if $ENV{NOTIFY_DEBUG};

    $gw->stop;
    $mock->stop;
});

# a send to a provider that does not deduplicate, on a connection kept
# alive that closes unanswered: curl would send it again on another
# connection, unseen by the sender, and the provider might have had it
# twice; it is not, and is unknown (one worker: the second send goes on
# the connection the first left open)

{
    my $gw = Gateway->new(workers => 1);
    my $mock = MockNotify->new(gw => $gw);
    $mock->write_keys($gw);
    $gw->write_file('twilio.token', "x\n");
    templates($gw);
    my $st = Store->new('sqlite', $gw);
    $gw->start(http => http_conf($st));
    Store::wait_for(sub {
        $gw->get('/notifications/ntf_0')->{status} == 404 });

    my $f = post($gw, '/notifications', { channel => 'sms',
        provider => 'hasty', to => '01012340000', text => '첫 번째' });
    my $n = wait_status($gw, $f->{json}{id}, 'sent');
    is($n->{status}, 'sent', 'a first send, its connection kept alive')
        or diag explain $n;
    $mock->{solapi}->set_mode('down', 1);
    my $k = post($gw, '/notifications', { channel => 'sms',
        provider => 'hasty', to => '01012340000', text => '한 번만' });
    $n = wait_status($gw, $k->{json}{id}, 'unknown', $VG ? 60 : 15);
    is($n->{status}, 'unknown',
       'the next, on it, closed unanswered: unknown') or diag explain $n;
    my @got = grep { ($_->{json}{message}{text} // '') eq '한 번만' }
              $mock->received('solapi');
    is(scalar @got, 1, '  not sent again');
    ok(@got && $got[0]{nth} > 1, '  it went on the kept-alive connection');
    is(scalar @{ $n->{attempts} // [] }, 1, '  one attempt');

    $gw->stop;
    $mock->stop;
}

# template errors at nginx -t, naming the file and the line

{
    my $gw = Gateway->new;
    my $st = Store->new('sqlite', $gw);
    MockNotify->new(gw => $gw)->write_keys($gw);
    $gw->write_file('twilio.token', "x\n");
    templates($gw);
    $gw->write_file('ready.txt', "line one\n{{#open}}never closed\n", 0644);
    my ($ok, $out) = $gw->test_config(http => http_conf($st));
    ok(!$ok, 'a template that does not parse fails nginx -t');
    like($out, qr/notify_template.*ready.*ready\.txt:2/,
         '  naming the file and the line') or diag $out;

    templates($gw);
    $gw->write_file('welcome.kakao', "{{#list}}x{{/list}}\n", 0644);
    ($ok, $out) = $gw->test_config(http => http_conf($st));
    ok(!$ok && $out =~ /AlimTalk template/,
       'an AlimTalk template with a section fails nginx -t') or diag $out;

    templates($gw);
    (my $bad = http_conf($st)) =~ s/notify_route intl twilio;/notify_route intl nobody;/;
    ($ok, $out) = $gw->test_config(http => $bad);
    ok(!$ok && $out =~ /"notify_route" "intl": no "notify_provider" "nobody"/,
       'a route to an unknown provider fails nginx -t');

    ($bad = http_conf($st)) =~ s/attempts=4/attempts=0/;
    ($ok, $out) = $gw->test_config(http => $bad);
    ok(!$ok && $out =~ /"notify_retry" directive invalid parameter "attempts=0"/,
       'notify_retry attempts=0 fails naming it');
}

sub uri {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

done_testing();
