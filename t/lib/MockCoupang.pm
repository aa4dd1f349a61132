package MockCoupang;

# A Coupang Open API stand-in.  It recomputes the CEA HMAC itself from the
# request line it received (Digest::SHA, not the module's code) and answers
# 401 the way Coupang does when the signature or its date is wrong.  A call
# it accepts gets Coupang's envelope: order sheets an empty last page,
# {"code":200,"message":"OK","data":[],"nextToken":""}, anything else
# {"code":200,"message":"OK","data":[]}.
#
#   my $cp = MockCoupang->new(port => $p, access_key => 'AK',
#                             secret => 'TEST_SECRET_KEY');
#   # or secret_file => 'conf/demo-secret.key' (a final newline ignored),
#   # which keeps the secret off command lines
#
# With vendor_id => 'A00012345' it is a stateful Wing: see
# MockCoupangWing.pm (orders over time and on demand, paging, v4 and v5,
# acknowledgement and DIRECT invoice bodies checked, 429 and
# INVALID_STATUS on demand, returns, withdrawals and inquiries).

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex);
use JSON::PP;
use POSIX qw(strftime);
use Time::Local qw(timegm);

use MockServer;

sub new {
    my ($class, %args) = @_;

    if ($args{vendor_id}) {
        require MockCoupangWing;
        return MockCoupangWing->new(%args);
    }

    my $ak = $args{access_key};
    my $secret = $args{secret} // read_secret($args{secret_file});
    my $skew = $args{max_skew} // 300;

    return MockServer->new(port => $args{port}, handler => sub {
        my ($req, $mode) = @_;
        my ($ok, $why) = verify($req, $ak, $secret, $skew);
        my $json = JSON::PP->new->canonical;

        if (!$ok) {
            return (401, { 'Content-Type' => 'application/json' },
                    $json->encode({ code => 'ERROR', message => $why,
                                    transactionId => 'mock-1' }));
        }

        # Coupang's key order, which a canonical encoder would not keep
        my ($path) = split /\?/, $req->{target}, 2;
        my $page = $req->{method} eq 'GET' && $path =~ m{/ordersheets$};
        return (200, { 'Content-Type' => 'application/json;charset=UTF-8' },
                '{"code":200,"message":"OK","data":[]'
                . ($page ? ',"nextToken":""' : '') . '}');
    });
}

sub read_secret {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    my $secret = <$fh>;
    $secret =~ s/\r?\n\z//;
    return $secret;
}

# Returns (1) or (0, Coupang's message).
sub verify {
    my ($req, $ak, $secret, $skew) = @_;

    my $auth = $req->{header}{authorization}
        // return (0, 'Request is not authorized.');

    my ($a, $key, $date, $sig) = $auth =~
        /^CEA algorithm=(\S+), access-key=([^,]+), signed-date=(\d{6}T\d{6}Z), signature=([0-9a-f]{64})$/
        or return (0, 'Invalid authorization header.');

    return (0, 'Invalid algorithm.') unless $a eq 'HmacSHA256';
    return (0, 'Invalid access key.') unless $key eq $ak;

    my ($y, $mo, $d, $h, $mi, $s) =
        $date =~ /^(\d\d)(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/;
    my $t = timegm($s, $mi, $h, $d, $mo - 1, 2000 + $y);
    return (0, 'Specified signature is expired.') if abs(time - $t) > $skew;

    # the request line as received: no decoding, no '?'
    my ($path, $query) = split /\?/, $req->{target}, 2;
    my $message = $date . $req->{method} . $path . ($query // '');
    return (0, 'Invalid signature.')
        unless hmac_sha256_hex($message, $secret) eq $sig;

    return (1);
}

1;
