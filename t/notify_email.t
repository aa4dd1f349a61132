# Email through a real SMTP server (t/lib/smtp_server.py on Debian's
# python3-aiosmtpd): the smtp provider over libcurl's SMTP, with STARTTLS
# and AUTH, and with implicit TLS.  The message the server saved is read
# back byte for byte and parsed by Python's email package, as a mail
# reader would: the Korean subject and display names decoded right, both
# parts present and decoded to the texts sent, CRLF throughout, a
# Message-ID (the notification's) and a Date.  Then the server's
# refusals and absences: each classified as the delivery worker needs.
#
# Sends go through notify_provider_test (one send, no outbox), which
# calls the same send function the delivery worker calls.

use strict;
use warnings;
use utf8;

use Test::More;
use JSON::PP;
use Encode qw(encode decode);
use IPC::Open2;
use IO::Socket::INET;
use File::Basename qw(dirname);

use Gateway;
use MockSMTP;

my $J = JSON::PP->new->utf8->canonical;
my $T = $ENV{VALGRIND} ? '30s' : '10s';   # a send's timeout
my $LIB = dirname(__FILE__) . '/lib';

my $gw = Gateway->new(workers => 1);

my $tls_port = $gw->port('smtp_starttls');
my $ssl_port = $gw->port('smtp_implicit');
my $plain_port = $gw->port('smtp_plain');
my $down_port = Gateway::free_port();

# a server that takes the connection and never greets
my $mute = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, Proto => 'tcp')
    or die "listen: $!";
my $mute_port = $mute->sockport;

my $starttls = MockSMTP->new(port => $tls_port, tls => 'starttls',
                             auth => 'mailer:s3cret-pass');
my $implicit = MockSMTP->new(port => $ssl_port, tls => 'implicit',
                             auth => 'mailer:s3cret-pass');
my $plain = MockSMTP->new(port => $plain_port);

$gw->write_file('ca.pem', $starttls->ca_pem . $implicit->ca_pem);
$gw->write_file('smtp.key', "mailer:s3cret-pass\n");
$gw->write_file('wrong.key', "mailer:not-the-password\n");
$gw->write_file('ready.tpl', encode('UTF-8', <<'TPL'));
Subject: {{name}}님, 주문하신 전자책 「{{title}}」이 준비되었습니다
--- text
안녕하세요 {{name}}님,
아래 링크에서 전자책을 받으세요.
{{{link}}}
--- html
<p>안녕하세요 {{name}}님,</p>
<p><a href="{{link}}">{{title}} 받기</a></p>
TPL

$gw->start(http => encode('UTF-8', <<"CONF"));
    integrations_outbound_trusted_certificate %%DIR%%/ca.pem;

    notify_provider mail type=smtp key_file=%%DIR%%/smtp.key
                    base_url=smtp://127.0.0.1:$tls_port
                    from=books\@example.com "from_name=전자책 서점"
                    reply_to=help\@example.com timeout=$T connect_timeout=$T;
    notify_provider mails type=smtp key_file=%%DIR%%/smtp.key
                    base_url=smtps://127.0.0.1:$ssl_port
                    from=books\@example.com timeout=$T connect_timeout=$T;
    notify_provider wrong type=smtp key_file=%%DIR%%/wrong.key
                    base_url=smtp://127.0.0.1:$tls_port
                    from=books\@example.com timeout=$T connect_timeout=$T;
    notify_provider notls type=smtp key_file=%%DIR%%/smtp.key
                    base_url=smtp://127.0.0.1:$plain_port
                    from=books\@example.com timeout=$T connect_timeout=$T;
    notify_provider plain type=smtp base_url=smtp://127.0.0.1:$plain_port
                    starttls=off from=books\@example.com timeout=$T
                    connect_timeout=$T;
    notify_provider down type=smtp base_url=smtp://127.0.0.1:$down_port
                    starttls=off from=books\@example.com timeout=$T
                    connect_timeout=2s;

    notify_provider mute type=smtp base_url=smtp://127.0.0.1:$mute_port
                    starttls=off from=books\@example.com timeout=$T
                    connect_timeout=1s;

    integrations_store sqlite:%%DIR%%/store.db;
    notify_template ready file=%%DIR%%/ready.tpl;
    notify_route email mail;
    notify_delivery interval=100ms;

    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location = /send { notify_provider_test; }
        location /notifications { notify_api; }
    }
CONF

sub send_mail {
    my (%m) = @_;
    my $r = $gw->request('POST', '/send',
                         headers => { 'Content-Type' => 'application/json' },
                         body => $J->encode(\%m), timeout => 120);
    my $o = eval { $J->decode($r->{body}) } // {};
    return ($r, $o);
}

sub parse_mime {
    my ($raw) = @_;
    my $pid = open2(my $out, my $in, '/usr/bin/python3', "$LIB/mime_parse.py");
    binmode $in;
    print $in $raw;
    close $in;
    local $/;
    my $json = <$out>;
    waitpid($pid, 0);
    return $J->decode($json);
}

my $subject = '주문하신 전자책이 준비되었습니다: 「파친코」 외 2권, 지금 '
            . '내려받아 읽어 보세요';
my $text = "홍길동 님, 안녕하세요.\n\n내려받기: https://books.example.com/d/42"
         . "\n.\n감사합니다.\n";
my $html = "<p>홍길동 님, 안녕하세요.</p>\n<p><a href=\"https://books."
         . "example.com/d/42\">내려받기</a></p>\n";

# STARTTLS + AUTH

my ($r, $o) = send_mail(provider => 'mail', to => 'Reader@Example.NET',
                        to_name => '홍길동', subject => $subject,
                        text => $text, html => $html, id => 'ntf-0001');

is($r->{status}, 200, 'the send answered');
is($o->{outcome}, 'sent', 'the SMTP server accepted the message')
    or diag($r->{body});
ok($o->{attempted}, 'it was attempted');
like($o->{message_id}, qr/^<[0-9a-f]{24}\@example\.com>$/,
     'the outcome carries the Message-ID');

my @m = $starttls->wait_messages(1);
is(scalar @m, 1, 'one message saved by the server');

my $raw = $m[0]{raw} // '';
my $env = $m[0]{envelope} // {};

is($env->{mail_from}, 'books@example.com', 'envelope MAIL FROM');
is_deeply($env->{rcpt_tos}, ['Reader@example.net'],
          'envelope RCPT TO: the normalized address');
ok($env->{tls}, 'the session was encrypted (STARTTLS)');
ok($env->{auth}, 'the session was authenticated (AUTH)');

ok(length $raw > 0, 'the message has bytes');
my $bare_lf = () = $raw =~ /(?<!\r)\n/g;
my $bare_cr = () = $raw =~ /\r(?!\n)/g;
is($bare_lf, 0, 'no bare LF: CRLF throughout');
is($bare_cr, 0, 'no bare CR');
ok($raw =~ /\r\n\z/, 'the message ends with CRLF');

my ($head) = split /\r\n\r\n/, $raw, 2;
(my $headn = $head) =~ s/\r\n/\n/g;
for my $line (split /\r\n/, $head) {
    ok(length($line) <= 78, "header line within 78 columns")
        or diag($line);
    ok($line !~ /[^\x20-\x7e\t]/, 'header line is ASCII') or diag($line);
}
like($headn, qr/^Subject: =\?UTF-8\?B\?/m,
     'the subject is RFC 2047 encoded-words');
like($headn, qr/^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000$/m,
     'an RFC 5322 Date');
like($headn, qr/^Message-ID: \Q$o->{message_id}\E$/m,
     'the Message-ID header is the one in the outcome');
like($headn, qr/^MIME-Version: 1\.0$/m, 'MIME-Version');

my $p = parse_mime($raw);

is($p->{headers}{Subject}, $subject, 'the Korean subject decodes exactly');
is($p->{headers}{From}, '전자책 서점 <books@example.com>',
   'the From display name decodes');
is($p->{headers}{To}, '홍길동 <Reader@example.net>', 'the To display name decodes');
is($p->{headers}{'Reply-To'}, 'help@example.com', 'Reply-To');
ok($p->{date_parsed}, 'the Date parses');
is_deeply($p->{defects}, [], 'the parser found no defect in the message');
is($p->{content_type}, 'multipart/alternative', 'multipart/alternative');

my @parts = @{ $p->{parts} // [] };
is(scalar @parts, 2, 'two parts');
is($parts[0]{type}, 'text/plain', 'text/plain first');
is($parts[1]{type}, 'text/html', 'text/html last (preferred)');
is(lc($parts[0]{charset} // ''), 'utf-8', 'the text part is UTF-8');
is(lc($parts[1]{charset} // ''), 'utf-8', 'the html part is UTF-8');

(my $text_crlf = $text) =~ s/\n/\r\n/g;
(my $html_crlf = $html) =~ s/\n/\r\n/g;
is($parts[0]{text}, $text_crlf, 'the text part decodes to the text, CRLF');
is($parts[1]{text}, $html_crlf, 'the html part decodes to the HTML, CRLF');

# the same notification again: the same Message-ID

($r, my $o2) = send_mail(provider => 'mail', to => 'reader@example.net',
                         subject => 'again', text => 'x', id => 'ntf-0001');
is($o2->{message_id}, $o->{message_id},
   'a repeat of a notification carries its Message-ID');

# text only: one part, no multipart

$starttls->clear;
($r, $o) = send_mail(provider => 'mail', to => 'reader@example.net',
                     subject => 'Plain ASCII subject', text => "line 1\nline 2",
                     id => 'ntf-0002');
is($o->{outcome}, 'sent', 'text only: sent');
@m = $starttls->wait_messages(1);
$p = parse_mime($m[0]{raw} // '');
is($p->{headers}{Subject}, 'Plain ASCII subject', 'an ASCII subject as is');
is($p->{content_type}, 'text/plain', 'text only: a single text/plain part');
is($p->{parts}[0]{text}, "line 1\r\nline 2", 'its text');

# implicit TLS

($r, $o) = send_mail(provider => 'mails', to => 'reader@example.net',
                     subject => '암묵적 TLS', text => '본문', id => 'ntf-0003');
is($o->{outcome}, 'sent', 'smtps:// (implicit TLS): sent') or diag($r->{body});
@m = $implicit->wait_messages(1);
is(scalar @m, 1, 'the implicit-TLS server saved it');
ok($m[0]{envelope}{tls}, 'over TLS');
is(parse_mime($m[0]{raw} // '')->{headers}{Subject}, '암묵적 TLS',
   'its subject decodes');

# no TLS, no AUTH (a local relay, starttls=off)

($r, $o) = send_mail(provider => 'plain', to => 'reader@example.net',
                     subject => 's', text => 't', id => 'ntf-0004');
is($o->{outcome}, 'sent', 'starttls=off to a local relay: sent');

# through the API: a template rendered at the request, the outbox, the
# delivery worker, the SMTP server

$starttls->clear;
$r = $gw->request('POST', '/notifications/bulk',
                  headers => { 'Content-Type' => 'application/json' },
                  body => $J->encode({ items => [{
                      channel => 'email', to => 'Reader@Example.NET',
                      template => 'ready',
                      data => { name => '홍길동', title => '파친코 & <2>',
                                link => 'https://books.example.com/d/42?a=1&b=2' },
                  }] }));
is($r->{status}, 202, 'the API queued the email');
my $nid = eval { $J->decode($r->{body})->{items}[0]{id} } // '';
like($nid, qr/^ntf_/, 'with an id');

@m = $starttls->wait_messages(1);
is(scalar @m, 1, 'the delivery worker sent it to the SMTP server');
$raw = $m[0]{raw} // '';
$bare_lf = () = $raw =~ /(?<!\r)\n/g;
is($bare_lf, 0, 'CRLF throughout');
$p = parse_mime($raw);
is($p->{headers}{Subject},
   '홍길동님, 주문하신 전자책 「파친코 & <2>」이 준비되었습니다',
   'the rendered Korean subject decodes exactly (not HTML-escaped)');
is($p->{content_type}, 'multipart/alternative', 'both parts');
is($p->{parts}[0]{text}, "안녕하세요 홍길동님,\r\n아래 링크에서 전자책을 "
   . "받으세요.\r\nhttps://books.example.com/d/42?a=1&b=2",
   'the text part, raw values');
is($p->{parts}[1]{text}, "<p>안녕하세요 홍길동님,</p>\r\n<p><a href=\""
   . "https://books.example.com/d/42?a=1&amp;b=2\">파친코 &amp; &lt;2&gt; "
   . "받기</a></p>", 'the HTML part, HTML-escaped values');
ok($p->{date_parsed}, 'a Date');
is_deeply($p->{defects}, [], 'no defect');

my $st = {};
for (1 .. ($ENV{VALGRIND} ? 200 : 50)) {
    my $g = $gw->get("/notifications/$nid");
    $st = eval { $J->decode($g->{body}) } // {};
    last if ($st->{status} // '') eq 'sent';
    select undef, undef, undef, 0.1;
}
is($st->{status}, 'sent', 'GET /notifications/{id}: sent');
like($head = $raw, qr/^Message-ID: \Q$st->{provider_message_id}\E\r$/m,
     'its provider_message_id is the Message-ID');

# failures, classified

$starttls->set_mode('reject');
($r, $o) = send_mail(provider => 'mail', to => 'nobody@example.net',
                     subject => 's', text => 't', id => 'ntf-0005');
is($o->{outcome}, 'permanent', '550 to RCPT: permanent');
is($o->{code}, 'smtp_550', 'the reply code');

$starttls->set_mode('busy');
($r, $o) = send_mail(provider => 'mail', to => 'reader@example.net',
                     subject => 's', text => 't', id => 'ntf-0006');
is($o->{outcome}, 'retryable', '451: retryable');
is($o->{code}, 'smtp_451', 'the reply code');
$starttls->set_mode('healthy');

($r, $o) = send_mail(provider => 'wrong', to => 'reader@example.net',
                     subject => 's', text => 't', id => 'ntf-0007');
is($o->{outcome}, 'retryable', 'a wrong password: retryable');
ok((grep { $_ eq 'config' } @{ $o->{flags} // [] }),
   'flagged as configuration') or diag($r->{body});

my $before = () = $plain->messages;
($r, $o) = send_mail(provider => 'notls', to => 'reader@example.net',
                     subject => 's', text => 't', id => 'ntf-0008');
is($o->{outcome}, 'retryable', 'STARTTLS required, the server has none: '
   . 'retryable');
is($o->{code}, 'connect', 'as a connection failure');
ok(!(grep { $_ eq 'ambiguous' } @{ $o->{flags} // [] }),
   'not ambiguous: nothing was sent');
my $after = () = $plain->messages;
is($after, $before, 'and the server got nothing in clear');

($r, $o) = send_mail(provider => 'down', to => 'reader@example.net',
                     subject => 's', text => 't', id => 'ntf-0009');
is($o->{outcome}, 'retryable', 'no server: retryable');
is($o->{code}, 'connect', 'connection refused');

($r, $o) = send_mail(provider => 'mute', to => 'reader@example.net',
                     subject => 's', text => 't', id => 'ntf-0011');
is($o->{outcome}, 'retryable', 'a server that never greets: retryable');
is($o->{code}, 'connect', 'a failure of the handshake, before any of the '
   . 'message left');
ok(!(grep { $_ eq 'ambiguous' } @{ $o->{flags} // [] }), 'not ambiguous');

# bad messages never reach the server

$starttls->clear;
($r, $o) = send_mail(provider => 'mail', to => 'reader@example.net',
                     subject => "two\r\nBcc: x\@evil.example", text => 't',
                     id => 'ntf-0010');
is($o->{outcome}, 'permanent', 'a header injection in the subject is refused');
ok(!$o->{attempted}, 'before anything is sent');
is(scalar($starttls->messages), 0, 'the server got nothing');

my $log = $gw->error_log;
unlike($log, qr/s3cret-pass/, 'the password is not in the error log');
unlike($log, qr/Reader\@example\.net|reader\@example\.net/,
       'no recipient in the error log at info');

$gw->stop;

done_testing();
