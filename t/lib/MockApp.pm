package MockApp;

# The seller's app, as activation_grant and activation_redirect see it: a
# grant endpoint that verifies every call's Standard Webhooks signature
# with its own code (HMAC-SHA256 over "id.timestamp.body" with the key
# base64-decoded from the "whsec_" secret; never the module's code), and a
# verifier of the redirect's claim (a compact JWS, HS256).
#
#   my $app = MockApp->new(port => $gw->port('app'), secret => $whsec);
#   $app->set_mode('fail:2');   # 503 to the first 2 calls of each id
#   my @g = $app->grants;       # every call: {id, ts, ok, body, json}
#
# Modes: healthy (200), fail:N (503, then 200), down (503), reject (400),
# hang:S (no answer for S seconds).

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256 sha256_hex);
use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);

use MockServer;

sub new {
    my ($class, %args) = @_;
    my $dir = tempdir('mockapp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $self = bless { dir => $dir, secret => $args{secret} }, $class;
    my $key = $args{secret};
    $key =~ s/^whsec_//;
    $key = decode_base64($key);

    $self->{server} = MockServer->new(port => $args{port},
                                      mode => $args{mode} // 'healthy',
                                      handler => sub {
        my ($req, $mode) = @_;
        my $h = $req->{header};
        my $id = $h->{'webhook-id'} // '';
        my $ts = $h->{'webhook-timestamp'} // '';
        my $sig = $h->{'webhook-signature'} // '';
        my $ok = verify($key, $id, $ts, $req->{body}, $sig);

        # the calls of one id, counted across the server's processes
        my $n = count("$dir/calls", $id);

        return (401, {}, 'bad signature') unless $ok;
        return (400, {}, 'bad body')
            unless eval { decode_json($req->{body}); 1 };

        if ($mode =~ /^fail:(\d+)$/) {
            return (503, { 'Content-Type' => 'text/plain' }, 'busy')
                if $n <= $1;
        } elsif ($mode eq 'down') {
            return (503, {}, 'down');
        } elsif ($mode eq 'reject') {
            return (400, {}, 'unknown product');
        } elsif ($mode =~ /^hang:(\d+)$/) {
            return { hang => $1 };
        }
        return (200, { 'Content-Type' => 'application/json' },
                '{"granted":true}');
    });

    return $self;
}

sub port { $_[0]{server}->port }
sub set_mode { $_[0]{server}->set_mode($_[1]) }
sub clear { $_[0]{server}->clear; unlink "$_[0]{dir}/calls" }
sub stop { $_[0]{server}->stop }

# 1 + the calls of this id seen before (a file of ids, under a lock)
sub count {
    my ($path, $id) = @_;
    open my $fh, '+>>', $path or die "$path: $!";
    flock $fh, LOCK_EX;
    seek $fh, 0, 0;
    my $n = 1;
    while (<$fh>) { chomp; $n++ if $_ eq $id }
    print $fh "$id\n";
    close $fh;
    return $n;
}

# Standard Webhooks v1: any of the space-separated "v1,<base64>" matches
sub verify {
    my ($key, $id, $ts, $body, $header) = @_;
    return 0 unless length $id && $ts =~ /^\d+$/;
    return 0 if abs(time - $ts) > 300;
    my $want = encode_base64(hmac_sha256("$id.$ts.$body", $key), '');
    for my $s (split / /, $header) {
        my ($v, $b64) = split /,/, $s, 2;
        return 1 if $v eq 'v1' && defined $b64 && $b64 eq $want;
    }
    return 0;
}

# every grant call received, with the app's own verdict on its signature
sub grants {
    my ($self) = @_;
    my $key = $self->{secret};
    $key =~ s/^whsec_//;
    $key = decode_base64($key);
    my @out;
    for my $r ($self->{server}->requests) {
        my $h = $r->{header};
        push @out, {
            id => $h->{'webhook-id'}, ts => $h->{'webhook-timestamp'},
            signature => $h->{'webhook-signature'},
            ok => verify($key, $h->{'webhook-id'} // '',
                         $h->{'webhook-timestamp'} // '', $r->{body},
                         $h->{'webhook-signature'} // ''),
            body => $r->{body},
            json => eval { decode_json($r->{body}) },
            method => $r->{method}, target => $r->{target},
            type => $h->{'content-type'},
        };
    }
    return @out;
}

sub b64url_decode {
    my ($s) = @_;
    $s =~ tr{-_}{+/};
    $s .= '=' x ((4 - length($s) % 4) % 4);
    return decode_base64($s);
}

sub b64url {
    my ($s) = @_;
    my $e = encode_base64($s, '');
    $e =~ tr{+/}{-_};
    $e =~ s/=+$//;
    return $e;
}

# a claim checked as the app would: HS256, aud, exp; its claims or undef
sub verify_claim {
    my ($class, $key, $jws, $now) = @_;
    my ($h, $c, $s) = split /\./, $jws // '', 3;
    return undef unless defined $s;
    my $head = eval { decode_json(b64url_decode($h)) } or return undef;
    return undef unless ($head->{alg} // '') eq 'HS256';
    return undef unless b64url(hmac_sha256("$h.$c", $key)) eq $s;
    my $claims = eval { decode_json(b64url_decode($c)) } or return undef;
    return undef unless ($claims->{aud} // '') eq 'activation';
    return undef unless ($claims->{exp} // 0) > ($now // time);
    return $claims;
}

# A token as the order sync mints one (32 random bytes, base64url, no
# padding) and the hex SHA-256 the store keeps.
sub token {
    open my $fh, '<', '/dev/urandom' or die $!;
    read $fh, my $raw, 32;
    close $fh;
    my $t = b64url($raw);
    return ($t, sha256_hex($t));
}

1;
