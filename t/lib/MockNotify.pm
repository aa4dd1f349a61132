package MockNotify;

# Stand-ins for the notification providers: Solapi (messages v4), Twilio
# (Messages.json), SendGrid (v3 mail/send), Slack (chat.postMessage and an
# incoming webhook) and FCM (the OAuth2 token endpoint and HTTP v1
# messages:send).  Each checks the wire format with its own Perl code,
# never the module's: Solapi's HMAC signature is recomputed (and a
# signature used twice refused, as Solapi does), Twilio's Basic auth and
# form body, SendGrid's bearer and JSON, Slack's bearer and JSON, the FCM
# token request's RS256 JWT verified with the test key's public half
# (openssl), FCM's bearer checked against the tokens it issued.  A
# request that gets the format wrong is answered 422 with code
# MOCK_WIRE_FORMAT and what was wrong.
#
#   my $m = MockNotify->new(gw => $gw);       # ports from the gateway
#   $m->write_keys($gw);                       # key files, FCM's JSON key
#   $m->{solapi}->set_mode('failing');
#   my @got = $m->received('solapi');          # decoded requests
#   $m->stop;
#
# Modes (set_mode on a server): healthy; latency (50 ms); slow (2 s, 6 s
# under valgrind); held (the request waits, up to 180 s, until the test
# sets another mode, and is then answered as that mode says: a send the
# test keeps in flight); failing (503 + Retry-After: 7); ratelimit (429 +
# Retry-After: 3); down (the connection closed unanswered); permanent (the
# provider's own permanent error); and per provider: solapi notkakao (an
# AlimTalk refused: 3104, not a KakaoTalk user), fcm reauth (every token
# revoked: 401 once, then healthy), fcm tokenfail (the token endpoint
# refuses: invalid_grant); set_mode(MODE, N): for the next N requests,
# then healthy (MockServer's count).  FCM's tokens expire as issued
# (set_token_ttl: expires_in; a bearer past it is a 401, as Google
# answers), the token endpoint can be slow (set_token_delay), and
# token_times() says when each was issued.  State (tokens, signatures seen) lives in files:
# MockServer forks per connection.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use Encode qw(encode decode);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);
use B ();

use MockServer;

our %SECRET = (
    solapi => 'NCSMOCKSOLAPIKEY:mock-solapi-secret-0001',
    twilio => 'AC0123456789abcdef0123456789abcdef:mock-twilio-token-0001',
    sendgrid => 'SG.mock-sendgrid-key-0001',
    slack => 'xoxb-mock-slack-token-0001',
);
our $SOLAPI_SENDER = '0293022266';
our $PF_ID = 'KA01PF0000MOCK';
our $FCM_PROJECT = 'mock-project-1';
our $FCM_EMAIL = 'notify@mock-project-1.iam.gserviceaccount.com';
our $WEBHOOK_PATH = '/services/T0000MOCK/B0000MOCK/MockWebhookSecret0001';

my $JSON = JSON::PP->new->canonical;
# the state the servers' processes share (MockServer::process_dir: one
# directory per test process), made by the first new() there
my $STATE = '';

sub state_dir { return $STATE = MockServer::process_dir('mocknotify'); }

sub new {
    my ($class, %args) = @_;
    my $gw = $args{gw};
    state_dir();
    my $self = bless { gw => $gw }, $class;
    $self->set_token_ttl($args{token_ttl} // 3600);
    $self->make_fcm_key;

    for my $name (qw(solapi twilio sendgrid slack fcm)) {
        my $handler = $class->can("h_$name");
        my $port = $gw->port($name);
        $self->{$name} = MockServer->new(port => $port,
            handler => sub {
                my ($req, $mode, $srv) = @_;
                if ($mode eq 'held') {
                    my $until = time + 180;
                    sleep 0.05 while ($mode = $srv->mode) eq 'held'
                                     && time < $until;
                }
                return { close => 1 } if $mode eq 'down';
                sleep($ENV{VALGRIND} ? 6 : 2) if $mode eq 'slow';
                sleep 0.05 if $mode eq 'latency';
                if ($mode eq 'failing') {
                    return json(503, { error => 'unavailable' },
                                'Retry-After' => '7');
                }
                my @resp = $handler->($req, $mode, $port);
                show($name, $req) if $args{print} && !ref $resp[0]
                                     && $resp[0] =~ /^2/
                                     && $req->{target} ne '/token';
                return @resp;
            });
    }

    return $self;
}

# the demo's sandboxes (print => 1): one line per message accepted
sub show {
    my ($name, $req) = @_;
    my $b = eval { decode_json($req->{body}) } // {};
    my %f = map { @$_ } form_decode($req->{body});
    my $line;
    if ($name eq 'solapi') {
        my $m = $b->{message} // {};
        $line = "$m->{type} to $m->{to}"
              . ($m->{subject} ? " [$m->{subject}]" : '')
              . ($m->{kakaoOptions} ? " template $m->{kakaoOptions}{templateId}"
                                    : '')
              . ": $m->{text}";
    } elsif ($name eq 'twilio') {
        $line = "SMS to $f{To}: " . decode('UTF-8', $f{Body} // '');
    } elsif ($name eq 'sendgrid') {
        $line = "email to $b->{personalizations}[0]{to}[0]{email}: "
              . "$b->{subject}";
    } elsif ($name eq 'slack') {
        $line = ($b->{channel} ? "#$b->{channel}" : 'webhook')
              . ": $b->{text}";
    } else {
        my $m = $b->{message} // {};
        $line = "push to " . substr($m->{token} // '', 0, 12) . "...: "
              . ($m->{notification}{title} // '') . ' '
              . ($m->{notification}{body} // '');
    }
    $line =~ s/[\r\n]+/ /g;
    binmode STDOUT, ':encoding(UTF-8)';
    print "[$name] $line\n";
}

sub base_url { my ($self, $name) = @_;
               return 'http://127.0.0.1:' . $self->{gw}->port($name); }

# what a provider received, decoded: {method, target, header, body, json,
# form (a hash), form_pairs}
sub received {
    my ($self, $name, $path_re) = @_;
    my @r;
    for my $req ($self->{$name}->requests) {
        next if $path_re && $req->{target} !~ $path_re;
        $req->{json} = eval { decode_json($req->{body}) };
        my @pairs = form_decode($req->{body});
        $req->{form_pairs} = \@pairs;
        $req->{form} = { map { @$_ } @pairs };
        push @r, $req;
    }
    return @r;
}

sub clear { my ($self) = @_; $self->{$_}->clear for qw(solapi twilio
                                                        sendgrid slack fcm) }

sub stop { my ($self) = @_; $self->{$_}->stop for qw(solapi twilio
                                                      sendgrid slack fcm) }

sub set_token_ttl {
    my ($self, $ttl) = @_;
    put("ttl", $ttl);
}

# the tokens issued, one file each (not their .revoked marks, nor a
# put()'s .tmp half written)
sub token_files { return grep { /\/token-\d+$/ } glob("$STATE/token-*"); }

sub tokens_issued { return scalar(my @t = token_files()); }

# seconds the token endpoint waits before it answers
sub set_token_delay { my ($self, $s) = @_; put('token_delay', $s); }

# each token's [issued, expires] (epoch seconds, fractional), in order
sub token_times {
    my @t;
    for my $f (token_files()) {
        my ($n) = $f =~ /token-(\d+)$/ or next;
        my (undef, $at, $exp) = split ' ', (get("token-$n") // '');
        $t[$n - 1] = [$at, $exp];
    }
    return grep { defined } @t;
}

# the token a bearer header carries and whether it was still good then
sub token_of {
    my ($bearer) = @_;
    for my $f (token_files()) {
        open my $t, '<', $f or next;
        my ($tok, $at, $exp) = split ' ', scalar <$t>;
        return ($tok, $exp) if $tok eq $bearer;
    }
    return;
}

# fcm reauth: the next request revokes every token issued so far
sub reauth { my ($self) = @_; unlink "$STATE/reauth-done";
             $self->{fcm}->set_mode('reauth'); }

sub put { my ($name, $v) = @_; open my $f, '>', "$STATE/$name.tmp" or die;
          print $f $v; close $f; rename "$STATE/$name.tmp", "$STATE/$name"; }
sub get { my ($name) = @_; open my $f, '<', "$STATE/$name" or return undef;
          local $/; return scalar <$f>; }

# the FCM service account: a fresh RSA key, its public half for the mock
sub make_fcm_key {
    my ($self) = @_;
    system("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
           . "-out $STATE/fcm.key 2>/dev/null") == 0 or die "openssl genpkey";
    system("openssl pkey -in $STATE/fcm.key -pubout -out $STATE/fcm.pub "
           . "2>/dev/null") == 0 or die "openssl pkey";
}

sub fcm_key_json {
    my ($self, %over) = @_;
    my $pem = do { local $/; open my $f, '<', "$STATE/fcm.key" or die;
                   <$f> };
    return $JSON->encode({
        type => 'service_account',
        project_id => $FCM_PROJECT,
        private_key_id => 'mockkeyid0001',
        private_key => $pem,
        client_email => $FCM_EMAIL,
        client_id => '1000000000000000000001',
        token_uri => 'https://oauth2.googleapis.com/token',
        %over,
    });
}

sub write_keys {
    my ($self, $gw) = @_;
    $gw->write_file("$_.key", "$SECRET{$_}\n") for keys %SECRET;
    $gw->write_file('fcm.json', $self->fcm_key_json);
    $gw->write_file('webhook.url',
                    $self->base_url('slack') . "$WEBHOOK_PATH\n");
}

sub json { my ($status, $obj, %h) = @_;
           return ($status, { 'Content-Type' => 'application/json', %h },
                   $JSON->encode($obj)); }

sub wire { my ($why) = @_;
           return json(422, { code => 'MOCK_WIRE_FORMAT', message => $why,
                              errorCode => 'MOCK_WIRE_FORMAT',
                              errorMessage => $why }); }

sub form_decode {
    my ($body) = @_;
    my @pairs;
    for (split /&/, $body // '') {
        my ($k, $v) = split /=/, $_, 2;
        for ($k, $v) { $_ //= ''; tr/+/ /; s/%([0-9A-Fa-f]{2})/chr hex $1/ge; }
        push @pairs, [$k, $v];
    }
    return @pairs;
}

sub rand_hex { my ($n) = @_; return join '', map { sprintf '%02x', rand 256 }
               1 .. $n; }

sub euckr_bytes {
    my ($text) = @_;
    my $chars = eval { decode('UTF-8', $text, Encode::FB_CROAK) };
    return undef unless defined $chars;
    my $b = eval { encode('euc-kr', $chars, Encode::FB_CROAK) };
    return defined $b ? length $b : undef;
}

# Solapi: HMAC-SHA256 apiKey=..., date=..., salt=..., signature=...

sub h_solapi {
    my ($req, $mode) = @_;
    my ($key, $secret) = split /:/, $SECRET{solapi}, 2;

    return wire('path') unless $req->{method} eq 'POST'
        && $req->{target} eq '/messages/v4/send';
    my $auth = $req->{header}{authorization} // '';
    my ($k, $date, $salt, $sig) = $auth =~
        /^HMAC-SHA256 apiKey=([^,]+), date=([^,]+), salt=([^,]+), signature=([0-9a-f]{64})$/
        or return wire("Authorization: $auth");
    return json(403, { errorCode => 'InvalidAPIKey',
                       errorMessage => 'unknown api key' }) if $k ne $key;
    return wire('salt length') unless length($salt) >= 12
        && length($salt) <= 64;
    my ($Y, $M, $D, $h, $m, $s) =
        $date =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?Z$/
        or return wire("date $date");
    my $t = timegm($s, $m, $h, $D, $M - 1, $Y);
    return json(403, { errorCode => 'RequestTimeTooSkewed',
                       errorMessage => 'skewed' }) if abs($t - time) > 900;
    return json(403, { errorCode => 'SignatureDoesNotMatch',
                       errorMessage => 'bad signature' })
        if hmac_sha256_hex($date . $salt, $secret) ne $sig;
    if (-e "$STATE/sig-$sig") {
        return json(403, { errorCode => 'DuplicatedSignature',
                           errorMessage => 'signature used already' });
    }
    put("sig-$sig", 1);

    return wire('Content-Type') unless ($req->{header}{'content-type'} // '')
        =~ m{^application/json};
    my $b = eval { decode_json($req->{body}) } or return wire('not JSON');
    my $msg = $b->{message} or return wire('no message');
    # mobiles, and marketplaces' safe numbers (0502..0508)
    return wire('to')
        unless ($msg->{to} // '') =~ /^(01[016789]\d{7,8}|050[2-8]\d{8})$/;
    return wire('from') unless ($msg->{from} // '') eq $SOLAPI_SENDER;
    my $type = $msg->{type} // '';
    my $text = encode('UTF-8', $msg->{text} // '');
    return wire('no text') unless length $text;

    if ($type eq 'SMS' || $type eq 'LMS') {
        my $n = euckr_bytes($text);
        return json(200, { statusCode => '1029', statusMessage =>
                           'EUC-KR로 표현할 수 없는 문자',
                           to => $msg->{to}, from => $msg->{from},
                           type => $type }) unless defined $n;
        return wire("SMS of $n bytes") if $type eq 'SMS' && $n > 90;
        return wire('SMS with a subject') if $type eq 'SMS'
            && exists $msg->{subject};
        if ($type eq 'LMS') {
            return wire("LMS of $n bytes") if $n <= 90 || $n > 2000;
            my $sn = euckr_bytes(encode('UTF-8', $msg->{subject} // ''));
            return wire('LMS subject') unless $sn && $sn <= 40;
        }
    } elsif ($type eq 'ATA') {
        my $ko = $msg->{kakaoOptions} or return wire('no kakaoOptions');
        return wire('pfId') unless ($ko->{pfId} // '') eq $PF_ID;
        return wire('templateId') unless length($ko->{templateId} // '');
        return wire('variables') unless ref $ko->{variables} eq 'HASH';
        for (keys %{ $ko->{variables} }) {
            return wire("variable $_") unless /^#\{[^{}]+\}$/
                && !ref $ko->{variables}{$_};
        }
        return wire('disableSms') unless JSON::PP::is_bool($ko->{disableSms});
        if ($mode eq 'notkakao') {
            return json(200, { statusCode => '3104', statusMessage =>
                               '카카오톡 미사용자', to => $msg->{to},
                               from => $msg->{from}, type => 'ATA' });
        }
    } else {
        return wire("type $type");
    }

    if ($mode eq 'ratelimit') {
        return json(429, { errorCode => 'TooManyRequests',
                           errorMessage => 'slow down' }, 'Retry-After' => 3);
    }
    if ($mode eq 'permanent') {
        return json(400, { errorCode => 'ValidationError',
                           errorMessage => 'invalid recipient' });
    }

    return json(200, { groupId => 'G4V' . uc rand_hex(8),
                       messageId => 'M4V' . uc rand_hex(8),
                       accountId => '19000000000000', statusCode => '2000',
                       statusMessage => '정상 접수(이통사로 접수 예정) ',
                       to => $msg->{to}, from => $msg->{from},
                       type => $type, country => '82' });
}

# Twilio: Basic AccountSid:AuthToken, a form body

sub h_twilio {
    my ($req, $mode) = @_;
    my ($sid) = split /:/, $SECRET{twilio}, 2;

    return wire("path $req->{target}") unless $req->{method} eq 'POST'
        && $req->{target} eq "/2010-04-01/Accounts/$sid/Messages.json";
    my $auth = $req->{header}{authorization} // '';
    return json(401, { code => 20003, message => 'Authenticate',
                       status => 401 })
        unless $auth eq 'Basic ' . encode_base64($SECRET{twilio}, '');
    return wire('Content-Type') unless ($req->{header}{'content-type'} // '')
        eq 'application/x-www-form-urlencoded';
    my %f;
    for (form_decode($req->{body})) {
        return wire("field $_->[0] twice") if exists $f{$_->[0]};
        $f{$_->[0]} = $_->[1];
    }
    return wire('To') unless ($f{To} // '') =~ /^\+[1-9]\d{7,14}$/;
    return wire('From or MessagingServiceSid')
        unless length($f{From} // '') || length($f{MessagingServiceSid} // '');
    return wire('Body') unless length($f{Body} // '');
    my $chars = decode('UTF-8', $f{Body}, Encode::FB_CROAK);
    return wire('Body too long') if length($chars) > 1600;

    if ($mode eq 'ratelimit') {
        return json(429, { code => 20429, message => 'Too Many Requests',
                           status => 429 }, 'Retry-After' => 3);
    }
    if ($mode eq 'permanent') {
        return json(400, { code => 21211, message =>
                           "The 'To' number $f{To} is not a valid phone "
                           . 'number.', more_info =>
                           'https://www.twilio.com/docs/errors/21211',
                           status => 400 });
    }

    my $msid = 'SM' . rand_hex(16);
    return json(201, { sid => $msid, status => 'queued', to => $f{To},
                       from => $f{From}, body => $chars,
                       num_segments => '1', error_code => undef,
                       error_message => undef,
                       date_created => 'Mon, 01 Jul 2019 00:41:48 +0000',
                       uri => "/2010-04-01/Accounts/$sid/Messages/$msid.json"
                     });
}

# SendGrid: Bearer, JSON, 202 with X-Message-Id

sub h_sendgrid {
    my ($req, $mode) = @_;

    return wire('path') unless $req->{method} eq 'POST'
        && $req->{target} eq '/v3/mail/send';
    return json(401, { errors => [{ message => 'authorization required',
                                    field => undef }] })
        unless ($req->{header}{authorization} // '')
               eq "Bearer $SECRET{sendgrid}";
    return wire('Content-Type') unless ($req->{header}{'content-type'} // '')
        =~ m{^application/json};
    my $b = eval { decode_json($req->{body}) } or return wire('not JSON');
    my $p = $b->{personalizations};
    return wire('personalizations') unless ref $p eq 'ARRAY' && @$p == 1
        && ref $p->[0]{to} eq 'ARRAY' && @{ $p->[0]{to} } == 1
        && ($p->[0]{to}[0]{email} // '') =~ /^[^@\s]+@[^@\s]+$/;
    return wire('from') unless ($b->{from}{email} // '') =~ /@/;
    return wire('from name not ASCII')
        if ($b->{from}{name} // '') =~ /[^\x20-\x7e]/;
    return wire('subject') unless length($b->{subject} // '')
        || length($p->[0]{subject} // '');
    my $c = $b->{content};
    return wire('content') unless ref $c eq 'ARRAY' && @$c >= 1 && @$c <= 2;
    my %seen;
    for (@$c) {
        return wire("content type $_->{type}")
            unless ($_->{type} // '') =~ m{^text/(plain|html)$};
        return wire('text/plain and text/html may only be provided once')
            if $seen{$_->{type}}++;
        return wire('content value') unless length($_->{value} // '');
    }
    return wire('text/plain first')
        if @$c == 2 && $c->[0]{type} ne 'text/plain';

    if ($mode eq 'ratelimit') {
        return json(429, { errors => [{ field => undef,
                                        message => 'too many requests' }] },
                    'Retry-After' => 3);
    }
    if ($mode eq 'permanent') {
        return json(400, { errors => [{ message => 'The from address does '
                                        . 'not match a verified Sender '
                                        . 'Identity.', field => 'from',
                                        help => undef }] });
    }

    return (202, { 'X-Message-Id' => 'mock' . rand_hex(11) }, '');
}

# Slack: chat.postMessage (Bearer, JSON, ok inside a 200) and a webhook

sub h_slack {
    my ($req, $mode) = @_;

    if ($req->{target} eq $WEBHOOK_PATH) {
        return wire('method') unless $req->{method} eq 'POST';
        return wire('Content-Type') unless ($req->{header}{'content-type'}
                                            // '') =~ m{^application/json};
        my $b = eval { decode_json($req->{body}) } or return wire('not JSON');
        return (400, { 'Content-Type' => 'text/plain' }, 'invalid_payload')
            unless length($b->{text} // '');
        return (429, { 'Content-Type' => 'text/plain', 'Retry-After' => 3 },
                'rate_limited') if $mode eq 'ratelimit';
        return (400, { 'Content-Type' => 'text/plain' }, 'invalid_payload')
            if $mode eq 'permanent';
        return (200, { 'Content-Type' => 'text/plain' }, 'ok');
    }

    return wire("path $req->{target}") unless $req->{method} eq 'POST'
        && $req->{target} eq '/api/chat.postMessage';
    return json(200, { ok => JSON::PP::false, error => 'not_authed' })
        unless ($req->{header}{authorization} // '')
               eq "Bearer $SECRET{slack}";
    return wire('Content-Type') unless ($req->{header}{'content-type'} // '')
        =~ m{^application/json; charset=utf-8$}i;
    my $b = eval { decode_json($req->{body}) } or return wire('not JSON');
    return json(200, { ok => JSON::PP::false, error => 'channel_not_found' })
        unless length($b->{channel} // '');
    return json(200, { ok => JSON::PP::false, error => 'no_text' })
        unless length($b->{text} // '');

    if ($mode eq 'ratelimit') {
        return json(429, { ok => JSON::PP::false, error => 'ratelimited' },
                    'Retry-After' => 3);
    }
    if ($mode eq 'permanent') {
        return json(200, { ok => JSON::PP::false,
                           error => 'channel_not_found' });
    }

    return json(200, { ok => JSON::PP::true, channel => 'C0123MOCK',
                       ts => sprintf('%d.%06d', time, rand 1e6),
                       # bytes: a decoded (wide) text would kill the reply
                       message => { text => encode('UTF-8',
                                                   $b->{text} // '') } });
}

# FCM: the token endpoint (an RS256 JWT verified with the public key; its
# audience Google's token URI, which the key file names: the provider's
# token_url= sends it here) and messages:send (a bearer it issued)

sub b64url_decode {
    my ($s) = @_;
    return undef if $s =~ /[^A-Za-z0-9_-]/;
    $s =~ tr{-_}{+/};
    $s .= '=' x ((4 - length($s) % 4) % 4);
    return decode_base64($s);
}

sub verify_rs256 {
    my ($data, $sig) = @_;
    my $d = tempdir('jwt-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    open my $f, '>', "$d/data" or die; binmode $f; print $f $data; close $f;
    open $f, '>', "$d/sig" or die; binmode $f; print $f $sig; close $f;
    my $rc = system("openssl dgst -sha256 -verify $STATE/fcm.pub "
                    . "-signature $d/sig $d/data >/dev/null 2>&1");
    return $rc == 0;
}

sub h_fcm {
    my ($req, $mode, $port) = @_;

    if ($req->{target} eq '/token') {
        return wire('method') unless $req->{method} eq 'POST';
        return wire('Content-Type') unless ($req->{header}{'content-type'}
            // '') eq 'application/x-www-form-urlencoded';
        my %f = map { @$_ } form_decode($req->{body});
        return json(400, { error => 'unsupported_grant_type' })
            unless ($f{grant_type} // '')
                   eq 'urn:ietf:params:oauth:grant-type:jwt-bearer';
        my ($h64, $c64, $s64) = split /\./, ($f{assertion} // ''), -1;
        my $bad = sub { json(400, { error => 'invalid_grant',
                                    error_description => $_[0] }) };
        return $bad->('not a JWT') unless defined $s64;
        my $h = eval { decode_json(b64url_decode($h64) // '') };
        my $c = eval { decode_json(b64url_decode($c64) // '') };
        my $sig = b64url_decode($s64);
        return $bad->('header') unless $h && ($h->{alg} // '') eq 'RS256'
            && ($h->{typ} // '') eq 'JWT'
            && ($h->{kid} // '') eq 'mockkeyid0001';
        return $bad->('Invalid JWT Signature.')
            unless defined $sig && verify_rs256("$h64.$c64", $sig);
        return $bad->('claims') unless $c && ($c->{iss} // '') eq $FCM_EMAIL
            && ($c->{scope} // '')
               eq 'https://www.googleapis.com/auth/firebase.messaging'
            && ($c->{aud} // '') eq 'https://oauth2.googleapis.com/token';
        return $bad->('iat') unless abs(($c->{iat} // 0) - time) < 300;
        return $bad->('exp') unless ($c->{exp} // 0) > $c->{iat}
            && $c->{exp} - $c->{iat} <= 3600;
        return $bad->('Invalid grant: account not found')
            if $mode eq 'tokenfail';

        sleep(0 + get('token_delay')) if get('token_delay');
        my $ttl = 0 + (get('ttl') // 3600);
        my $n = tokens_issued() + 1;
        my $token = "ya29.mock-$n-" . rand_hex(8);
        put("token-$n", sprintf("%s %.3f %.3f", $token, time, time + $ttl));
        return json(200, { access_token => $token, expires_in => $ttl,
                           token_type => 'Bearer' });
    }

    return wire("path $req->{target}") unless $req->{method} eq 'POST'
        && $req->{target} eq "/v1/projects/$FCM_PROJECT/messages:send";

    my ($bearer) = ($req->{header}{authorization} // '') =~ /^Bearer (\S+)$/;
    my %valid;
    for my $f (token_files()) {
        next if -e "$f.revoked";
        open my $t, '<', $f or next;
        my ($tok, $at, $exp) = split ' ', scalar <$t>;
        $valid{$tok} = 1 if time < $exp;      # an expired token: a 401
    }

    # reauth: every token issued so far is revoked, once
    if ($mode eq 'reauth' && !-e "$STATE/reauth-done") {
        for my $f (token_files()) {
            open my $r, '>', "$f.revoked" or die; close $r;
        }
        put('reauth-done', 1);
        %valid = ();
    }

    unless ($bearer && $valid{$bearer}) {
        return json(401, { error => { code => 401, message => 'Request had '
                                      . 'invalid authentication '
                                      . 'credentials.',
                                      status => 'UNAUTHENTICATED' } });
    }

    return wire('Content-Type') unless ($req->{header}{'content-type'} // '')
        =~ m{^application/json};
    my $b = eval { decode_json($req->{body}) } or return wire('not JSON');
    my $m = $b->{message} or return wire('message');
    return wire('token') unless length($m->{token} // '');
    return wire('notification.body')
        unless length($m->{notification}{body} // '');
    if (exists $m->{data}) {
        return wire('data is an object') unless ref $m->{data} eq 'HASH';
        for (values %{ $m->{data} }) {
            # JSON strings decode with only the string flag: 1 and "1"
            # differ here, as they do to FCM
            my $flags = defined $_ && !ref $_
                        ? B::svref_2object(\$_)->FLAGS : 0;
            return wire('data values must be strings')
                unless ($flags & B::SVp_POK)
                       && !($flags & (B::SVp_IOK | B::SVp_NOK));
        }
    }

    if ($mode eq 'ratelimit') {
        return json(429, { error => { code => 429, status =>
                                      'RESOURCE_EXHAUSTED', details => [{
                      '@type' => 'type.googleapis.com/google.firebase.fcm.'
                                 . 'v1.FcmError',
                      errorCode => 'QUOTA_EXCEEDED' }] } },
                    'Retry-After' => 3);
    }
    if ($mode eq 'permanent') {
        return json(404, { error => { code => 404, message =>
                                      'Requested entity was not found.',
                                      status => 'NOT_FOUND', details => [{
                      '@type' => 'type.googleapis.com/google.firebase.fcm.'
                                 . 'v1.FcmError',
                      errorCode => 'UNREGISTERED' }] } });
    }

    return json(200, { name => "projects/$FCM_PROJECT/messages/0:"
                               . int(rand 1e15) });
}

1;
