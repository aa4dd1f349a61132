package MockCoupangWing;

# A stateful stand-in for Coupang's Wing order API, for the order sync
# tests and the demo.  Every call's CEA signature is recomputed here
# (MockCoupang::verify, Digest::SHA: never the module's code); a bad one
# gets Coupang's 401.  Its state (orders, returns, inquiries, faults) is a
# JSON file under a lock, shared by the server's forked children and the
# test:
#
#   my $cp = MockCoupang->new(port => $p, access_key => 'AK',
#                             secret => 'S', vendor_id => 'A00012345',
#                             every => 60);      # an order a minute too
#   my $box = $cp->add_order(items => [{ vendor_item_id => '3242596358' }],
#                            phone => '0503-1234-5464');
#   $cp->order($box)->{status};           # ACCEPT, INSTRUCT, DEPARTURE
#   $cp->fault(list_429 => 2);             # the next two lists: 429
#   $cp->fault(invoice_invalid => 1);      # the next invoice: INVALID_STATUS
#   $cp->fault(ack_500_applied => 1);      # the next ack: applied, then 500
#   $cp->fault(ack_99_applied => 1);       # ... applied, items answered
#                                          # code 99 (not succeed, no retry)
#   $cp->fault(ack_timeout_applied => 1);  # ... applied, answered after
#                                          # ack_delay seconds (new())
#   $cp->fault(ack_500 => 1);              # ... NOT applied, answered 500
#   $cp->box_fault($box, 'ack_500');       # one of those (ack_*) for the
#                                          # next ack naming the box only
#   $cp->order($box)->{ack_calls};         # acknowledgements naming it
#   $cp->order($box)->{lookups};           # single GETs of it
#   $cp->order($box)->{wire};              # its calls in order: "ack",
#                                          # "lookup ACCEPT" (what it
#                                          # answered), "invoice" (applied)
#   $cp->cancel($box);                     # its single GET: 400 취소/반품
#   $cp->cancel($box, on_ack => 1);        # ... from the moment an ack
#                                          # applies to it (before any GET)
#   my $r = $cp->add_return($box, '3242596358', 1);   # filed: UC
#   $cp->add_return($box, '3242596358', 1, status => 'PR');  # or RU, CC
#   $cp->return_status($r, 'CC');          # listed under CC from now on
#   $cp->withdraw($r);
#   $cp->return_lists;                     # { UC => n, PR => n, CANCEL => n }
#   $cp->add_inquiry(kind => 'online');
#   $cp->problems;                         # wire-format complaints, if any
#
# Ordersheets (v4 and v5): minute mode ("searchType=timeFrame", from
# inclusive, to exclusive, KST) lists ACCEPT orders created in the range;
# day mode pages by maxPerPage with nextToken (the last box id).  Ids go
# out as bare JSON numbers, 18 digits (a double would round them).  The
# acknowledgement takes at most 50 ids, all JSON numbers; only ACCEPT
# boxes move to INSTRUCT.  An invoice must be DIRECT, one entry per item
# of the box, digits for a number, splitShipping false; only INSTRUCT
# boxes move to DEPARTURE (else INVALID_STATUS).  Whatever is wrong on the
# wire is kept in problems().
#
# POST /mock/orders (no signature: the demo's "one curl") creates an
# order; GET /mock/state shows the state.

use strict;
use warnings;

use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes ();
use Time::Local qw(timegm);

use MockCoupang;
use MockServer;

my $PREFIX = '/v2/providers/openapi/apis/api';

# returnRequests' status= and the receiptStatus it lists
our %RECEIPT_STATUS = (RU => 'RELEASE_STOP_UNCHECKED',
                       UC => 'RETURNS_UNCHECKED',
                       PR => 'REQUEST_COUPANG_CHECK',
                       CC => 'RETURNS_COMPLETED');
my $KST = 9 * 3600;

sub new {
    my ($class, %args) = @_;
    my $self = bless {
        ak => $args{access_key},
        secret => $args{secret} // MockCoupang::read_secret($args{secret_file}),
        vendor => $args{vendor_id},
        skew => $args{max_skew} // 300,
        every => $args{every} // 0,
        list_delay => $args{list_delay} // 0,
        ack_delay => $args{ack_delay} // 40,
    }, $class;

    # the state's directory exists before the server forks
    $self->{dir} = tempdir('wing-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    $self->state(sub {
        my ($st) = @_;
        $st->{next} //= 1;
        $st->{next_receipt} //= 0;
        $st->{return_lists} //= {};
        $st->{orders} //= {};
        $st->{returns} //= [];
        $st->{withdrawals} //= [];
        $st->{inquiries} //= [];
        $st->{faults} //= {};
        $st->{problems} //= [];
        $st->{last_auto} //= time;
    });

    $self->{server} = MockServer->new(port => $args{port}, handler => sub {
        my ($req, $mode) = @_;
        return $self->handle($req, $mode);
    });

    return $self;
}

sub port { $_[0]{server}->port }
sub requests { $_[0]{server}->requests }
sub stop { $_[0]{server}->stop }

# read-modify-write of the state under its lock; returns the code's value
sub state {
    my ($self, $code) = @_;
    open my $lock, '>>', "$self->{dir}/state.lock" or die "lock: $!";
    flock $lock, LOCK_EX;

    my $st = {};
    if (open my $fh, '<', "$self->{dir}/state.json") {
        local $/;
        my $text = <$fh>;
        $st = JSON::PP->new->decode($text) if length $text;
    }

    my @ret = $code->($st);

    open my $out, '>', "$self->{dir}/state.json.tmp" or die "state: $!";
    print $out JSON::PP->new->canonical->encode($st);
    close $out;
    rename "$self->{dir}/state.json.tmp", "$self->{dir}/state.json";
    close $lock;

    return wantarray ? @ret : $ret[0];
}

sub kst_text {
    my ($t, $fmt) = @_;
    return strftime($fmt // '%Y-%m-%dT%H:%M:%S', gmtime($t + $KST));
}

# "2025-09-01T10:20" or "2025-09-01T10:20+09:00" or dates: unix seconds
sub kst_parse {
    my ($s) = @_;
    $s =~ s/%2B/+/gi;
    $s =~ s/\+09:00$//;
    my ($y, $mo, $d, $h, $mi) = $s =~ /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d))?$/
        or return undef;
    return timegm(0, $mi // 0, $h // 0, $d, $mo - 1, $y) - $KST;
}

sub new_order {
    my ($st, %o) = @_;
    my $n = $st->{next}++;
    my $box = sprintf '6425389710064%05d', $n;      # 18 digits
    my $order = sprintf '220000095%05d', $n;         # 14 digits
    my $now = $o{created} // time;
    my @items = @{ $o{items} // [{ vendor_item_id => '3242596358' }] };

    $st->{orders}{$box} = {
        box => $box, order => $order, status => 'ACCEPT', created => $now,
        phone => $o{phone} // '0503-1234-' . sprintf('%04d', 5000 + $n),
        receiver_phone => $o{receiver_phone},
        name => $o{name} // '신*희',
        items => [ map { {
            vendor_item_id => $_->{vendor_item_id},
            name => $_->{name} // '[전자책] 예제 도서, PDF',
            count => $_->{count} // 1,
            etc => $_->{etc} // [],
        } } @items ],
        acked_at => undef, invoiced_at => undef, invoice => undef,
    };

    return $box;
}

sub add_order {
    my ($self, %o) = @_;
    return $self->state(sub { new_order($_[0], %o) });
}

sub add_orders {
    my ($self, $n, %o) = @_;
    return $self->state(sub {
        my ($st) = @_;
        return map { new_order($st, %o) } 1 .. $n;
    });
}

sub order {
    my ($self, $box) = @_;
    return $self->state(sub { $_[0]{orders}{$box} });
}

sub orders {
    my ($self) = @_;
    return $self->state(sub { $_[0]{orders} });
}

sub cancel {
    my ($self, $box, %o) = @_;
    $self->state(sub {
        $_[0]{orders}{$box}{$o{on_ack} ? 'cancel_on_ack' : 'canceled'} = 1;
    });
}

# an acknowledgement fault (ack_*) for the next acknowledgement naming the
# box, whatever else it names: a test need not know how the gateway
# groups its boxes into calls
sub box_fault {
    my ($self, $box, $name) = @_;
    $self->state(sub { $_[0]{box_faults}{$box}{$name} = 1 });
}

sub fault {
    my ($self, %f) = @_;
    $self->state(sub { $_[0]{faults}{$_} = $f{$_} for keys %f });
}

sub problems {
    my ($self) = @_;
    return @{ $self->state(sub { $_[0]{problems} }) };
}

sub add_return {
    my ($self, $box, $item, $count, %r) = @_;
    return $self->state(sub {
        my ($st) = @_;
        my $o = $st->{orders}{$box} or die "no box $box";
        # from a counter: a withdrawn return leaves the list, and the
        # next one must not get its id again
        my $id = 365937 + $st->{next_receipt}++;
        my $status = $r{status} // 'UC';
        push @{ $st->{returns} }, {
            receipt => $id, order => $o->{order}, box => $box,
            item => $item, count => $count, created => time,
            type => $r{type} // 'RETURN',
            status => $RECEIPT_STATUS{$status} // $status,
        };
        return $id;
    });
}

# a return moves on (UC to PR to CC): listed under its new status only
sub return_status {
    my ($self, $receipt, $status) = @_;
    $self->state(sub {
        my ($r) = grep { $_->{receipt} == $receipt } @{ $_[0]{returns} };
        $r->{status} = $RECEIPT_STATUS{$status} // $status if $r;
    });
}

# how often each returnRequests list was asked for, by status (CANCEL)
sub return_lists {
    my ($self) = @_;
    return $self->state(sub { $_[0]{return_lists} // {} });
}

sub withdraw {
    my ($self, $receipt) = @_;
    $self->state(sub {
        my ($st) = @_;
        my ($r) = grep { $_->{receipt} == $receipt } @{ $st->{returns} };
        return unless $r;
        $st->{returns} = [ grep { $_->{receipt} != $receipt }
                           @{ $st->{returns} } ];
        push @{ $st->{withdrawals} }, { %$r, withdrawn => time };
    });
}

sub add_inquiry {
    my ($self, %q) = @_;
    return $self->state(sub {
        my ($st) = @_;
        my $id = 90000 + @{ $st->{inquiries} };
        push @{ $st->{inquiries} }, { id => $id, kind => $q{kind} // 'online',
            created => $q{created} // time, answered => $q{answered} // 0,
            text => $q{text} // '환불 가능한가요?' };
        return $id;
    });
}

sub problem {
    my ($st, $text) = @_;
    push @{ $st->{problems} }, $text;
}

# JSON with every 18-digit id written as a bare number
sub numbers {
    my ($json) = @_;
    $json =~ s/"(shipmentBoxId|orderId|vendorItemId|productId|sellerProductId|receiptId|cancelId|inquiryId|responseKey)":"(-?\d+)"/"$1":$2/g;
    return $json;
}

sub reply {
    my ($code, $data) = @_;
    return ($code, { 'Content-Type' => 'application/json;charset=UTF-8' },
            numbers(JSON::PP->new->canonical->encode($data)));
}

sub handle {
    my ($self, $req, $mode) = @_;
    my ($path, $query) = split /\?/, $req->{target}, 2;
    my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') }
            split /&/, $query // '';

    if ($path eq '/mock/orders' && $req->{method} eq 'POST') {
        my $box = $self->state(sub { new_order($_[0]) });
        return (201, { 'Content-Type' => 'application/json' },
                qq({"shipmentBoxId":"$box"}));
    }

    if ($path eq '/mock/state') {
        return (200, { 'Content-Type' => 'application/json' },
                JSON::PP->new->canonical->pretty->encode(
                    $self->state(sub { $_[0] })));
    }

    my ($ok, $why) = MockCoupang::verify($req, $self->{ak}, $self->{secret},
                                         $self->{skew});
    if (!$ok) {
        $self->state(sub { problem($_[0], "signature: $why") });
        return (401, { 'Content-Type' => 'application/json' },
                qq({"code":"ERROR","message":"$why","transactionId":"mock"}));
    }

    if (($req->{header}{'x-requested-by'} // '') ne $self->{vendor}) {
        $self->state(sub { problem($_[0], 'X-Requested-By is not the vendor') });
    }

    my $v = quotemeta $self->{vendor};

    if ($req->{method} eq 'GET'
        && $path =~ m{^$PREFIX/(v4|v5)/vendors/$v/ordersheets$})
    {
        return $self->list($1, \%q);
    }

    if (($req->{method} eq 'PUT' || $req->{method} eq 'PATCH')
        && $path =~ m{^$PREFIX/(v4|v5)/vendors/$v/ordersheets/acknowledgement$})
    {
        my @r = $self->acknowledge($req);
        # a timeout after Coupang applied it: the answer comes too late
        if (($r[1]{'X-Mock-Delay'} // 0) > 0) {
            sleep delete $r[1]{'X-Mock-Delay'};
        }
        return @r;
    }

    if ($req->{method} eq 'GET'
        && $path =~ m{^$PREFIX/(v4|v5)/vendors/$v/ordersheets/(\d+)$})
    {
        return $self->lookup($1, $2);
    }

    if ($req->{method} eq 'POST'
        && $path eq "$PREFIX/v4/vendors/$self->{vendor}/orders/invoices")
    {
        return $self->invoice($req);
    }

    if ($req->{method} eq 'GET'
        && $path eq "$PREFIX/v6/vendors/$self->{vendor}/returnRequests")
    {
        return $self->returns(\%q);
    }

    if ($req->{method} eq 'GET'
        && $path eq "$PREFIX/v4/vendors/$self->{vendor}/returnWithdrawRequests")
    {
        return $self->withdrawals(\%q);
    }

    if ($req->{method} eq 'GET'
        && $path =~ m{^$PREFIX/v5/vendors/$v/(onlineInquiries|callCenterInquiries)$})
    {
        return $self->inquiries($1, \%q);
    }

    $self->state(sub { problem($_[0], "unknown call $req->{method} $path") });
    return reply(404, { code => 404, message => 'not found' });
}

sub take_fault {
    my ($st, $name) = @_;
    return 0 unless $st->{faults}{$name};
    $st->{faults}{$name}--;
    return 1;
}

sub order_json {
    my ($o, $api) = @_;
    my $t = kst_text($o->{created});
    my $v5 = $api eq 'v5';
    my $money = sub { $v5 ? { currencyCode => 'KRW', units => "$_[0]",
                              nanos => 0 } : $_[0] };
    my $phone = sub {
        my ($p) = @_;
        return $p unless $v5 && defined $p;
        (my $d = $p) =~ s/\D//g;
        $d =~ s/^0/+82/;
        return $d;
    };

    return {
        shipmentBoxId => "$o->{box}", orderId => "$o->{order}",
        orderedAt => $v5 ? "$t.123456+09:00" : $t,
        paidAt => $v5 ? "$t.234567+09:00" : $t,
        status => $o->{status},
        orderer => { name => $o->{name}, email => '',
                     safeNumber => $phone->($o->{phone}),
                     ordererNumber => undef },
        receiver => { name => $o->{name},
                      safeNumber => $phone->($o->{receiver_phone} // $o->{phone}),
                      receiverNumber => undef, addr1 => '서울', addr2 => '',
                      postCode => '00000' },
        shippingPrice => $money->(0), remotePrice => undef,
        splitShipping => JSON::PP::false, ableSplitShipping => JSON::PP::false,
        orderItems => [ map { {
            productId => '31846051', vendorItemId => "$_->{vendor_item_id}",
            vendorItemName => $_->{name}, shippingCount => $_->{count},
            salesPrice => $money->(9900),
            orderPrice => $money->(9900 * $_->{count}),
            discountPrice => undef, externalVendorSkuCode => 'EBOOK',
            etcInfoValues => $_->{etc}, sellerProductId => '80240831',
            sellerProductName => '예제 도서 전자책',
            sellerProductItemName => 'PDF', cancelCount => 0,
            holdCountForCancel => 0, canceled => JSON::PP::false,
        } } @{ $o->{items} } ],
        deliveryCompanyName => '', invoiceNumber => $o->{invoice} // '',
        refer => '안드로이드앱',
    };
}

sub list {
    my ($self, $api, $q) = @_;

    return $self->state(sub {
        my ($st) = @_;

        if (take_fault($st, 'list_429')) {
            return reply(429, { code => 429, message => 'Too Many Requests' });
        }

        # orders over time: one every "every" seconds since the last
        if ($self->{every}) {
            while (time - $st->{last_auto} >= $self->{every}) {
                $st->{last_auto} += $self->{every};
                new_order($st, created => $st->{last_auto});
            }
        }

        my $status = $q->{status} // '';
        problem($st, 'ordersheets without status') unless $status;

        my $from = kst_parse($q->{createdAtFrom} // '');
        my $to = kst_parse($q->{createdAtTo} // '');
        problem($st, "ordersheets: bad dates") unless defined $from && defined $to;
        return reply(400, { code => 400, message => 'bad dates' })
            unless defined $from && defined $to;

        my $v5_dates = ($q->{createdAtFrom} =~ /%2B09:00$/i) ? 1 : 0;
        problem($st, "ordersheets $api: dates of the other version")
            if ($api eq 'v5') != $v5_dates;

        my $minute = ($q->{searchType} // '') eq 'timeFrame';
        $to += 86400 unless $minute;      # day mode: the last day included

        if ($minute && (defined $q->{maxPerPage} || defined $q->{nextToken})) {
            problem($st, 'timeFrame with paging parameters');
        }

        my $visible = time - $self->{list_delay};
        my @boxes = sort { $a cmp $b } grep {
            my $o = $st->{orders}{$_};
            $o->{status} eq $status && $o->{created} >= $from
                && $o->{created} < $to && $o->{created} <= $visible
        } keys %{ $st->{orders} };

        my $next = '';

        if (!$minute) {
            my $per = $q->{maxPerPage} || 50;
            problem($st, 'maxPerPage over 50') if $per > 50;
            if (length($q->{nextToken} // '')) {
                @boxes = grep { $_ gt $q->{nextToken} } @boxes;
            }
            if (@boxes > $per) {
                splice @boxes, $per;
                $next = $boxes[-1];
            }
        }

        $st->{lists}++;

        # Coupang's key order (as MockCoupang answers an empty page)
        my $data = numbers(JSON::PP->new->canonical->encode(
            [ map { order_json($st->{orders}{$_}, $api) } @boxes ]));
        return (200, { 'Content-Type' => 'application/json;charset=UTF-8' },
                qq({"code":200,"message":"OK","data":$data,"nextToken":"$next"}));
    });
}

sub results_reply {
    my ($list) = @_;
    my $fails = grep { !$_->{succeed} } @$list;
    return reply(200, { code => '200', message => 'OK', data => {
        responseKey => '-7326489997410939972',
        responseCode => !@$list ? -1 : !$fails ? 0 : $fails == @$list ? 99 : 1,
        responseMessage => $fails ? 'FAILED' : 'SUCCESS',
        responseList => $list } });
}

# one box (the single lookup): a cancelled or returned one answers 400
sub lookup {
    my ($self, $api, $box) = @_;
    return $self->state(sub {
        my ($st) = @_;
        my $o = $st->{orders}{$box};
        return reply(404, { code => 404, message => 'not found' }) unless $o;
        $o->{lookups}++;
        push @{ $o->{wire} },
             'lookup ' . ($o->{canceled} ? 'canceled' : $o->{status});
        return reply(400, { code => 400,
                            message => '해당 주문이 취소 또는 반품되었습니다.' })
            if $o->{canceled};
        return reply(200, { code => '200', message => 'OK',
                            data => order_json($o, $api) });
    });
}

# ACCEPT -> INSTRUCT; a box the buyer cancels then (cancel(on_ack)) is
# cancelled before anyone can look it up
sub apply_ack {
    my ($o) = @_;
    $o->{status} = 'INSTRUCT';
    $o->{acked_at} = Time::HiRes::time;
    $o->{acks}++;
    $o->{canceled} = 1 if delete $o->{cancel_on_ack};
}

sub acknowledge {
    my ($self, $req) = @_;
    my $body = $req->{body};

    return $self->state(sub {
        my ($st) = @_;

        if (take_fault($st, 'ack_429')) {
            return reply(429, { code => 429, message => 'Too Many Requests' });
        }

        my $j = eval { JSON::PP->new->allow_bignum->decode($body) };
        if (!$j || ref $j->{shipmentBoxIds} ne 'ARRAY') {
            problem($st, 'acknowledgement: not {vendorId, shipmentBoxIds}');
            return reply(400, { code => 400, message => 'bad body' });
        }

        problem($st, 'acknowledgement: vendorId') unless ($j->{vendorId} // '') eq $self->{vendor};
        problem($st, 'acknowledgement: more than 50 ids')
            if @{ $j->{shipmentBoxIds} } > 50;
        problem($st, 'acknowledgement: ids not bare numbers')
            if $body =~ /"shipmentBoxIds"\s*:\s*\[[^\]]*"/;

        my @ids = map { "$_" } @{ $j->{shipmentBoxIds} };
        push @{ $st->{ack_log} }, [@ids];
        for my $o (grep { $_ } map { $st->{orders}{$_} } @ids) {
            $o->{ack_calls}++;
            push @{ $o->{wire} }, 'ack';
        }

        # one fault a call (the first set, not every one): the call's own,
        # else one set on a box it names (box_fault), taken for every box
        # of the call that has it
        my @faults = qw(ack_500_applied ack_99_applied ack_timeout_applied
                        ack_500);
        my ($fault) = grep { $st->{faults}{$_} } @faults;
        take_fault($st, $fault) if $fault;
        if (!$fault) {
            my $bf = $st->{box_faults} // {};
            ($fault) = grep { my $f = $_;
                              grep { $bf->{$_} && $bf->{$_}{$f} } @ids }
                       @faults;
            $fault && $bf->{$_} && delete $bf->{$_}{$fault} for @ids;
        }

        # a 500 with nothing applied: Coupang failed before changing any
        return reply(500, { code => 500, message => 'internal exception' })
            if ($fault // '') eq 'ack_500';

        # applied, and then an answer that says nothing clear
        if ($fault) {
            my @list;
            for my $id (@ids) {
                my $o = $st->{orders}{$id} or next;
                next unless $o->{status} eq 'ACCEPT';
                apply_ack($o);
                push @list, { shipmentBoxId => $id, succeed => JSON::PP::false,
                              resultCode => '99', resultMessage => 'unknown',
                              retryRequired => JSON::PP::false };
            }
            return reply(500, { code => 500, message => 'internal exception' })
                if $fault eq 'ack_500_applied';
            my @r = results_reply(\@list);
            $r[1]{'X-Mock-Delay'} = $self->{ack_delay}
                if $fault eq 'ack_timeout_applied';
            return @r;
        }

        my @list;
        for my $id (@ids) {
            my $o = $st->{orders}{$id};
            if ($o && $o->{status} eq 'ACCEPT' && take_fault($st, 'ack_retry')) {
                push @list, { shipmentBoxId => $id, succeed => JSON::PP::false,
                              resultCode => 'UNDEFINED_ERROR_OCCUR',
                              resultMessage => 'try again',
                              retryRequired => JSON::PP::true };
            } elsif ($o && $o->{status} eq 'ACCEPT') {
                apply_ack($o);
                push @list, { shipmentBoxId => $id, succeed => JSON::PP::true,
                              resultCode => 'OK', resultMessage => '',
                              retryRequired => JSON::PP::false };
            } else {
                $o->{acks_refused}++ if $o;
                push @list, { shipmentBoxId => $id, succeed => JSON::PP::false,
                              resultCode => $o ? 'INVALID_STATUS' : 'NOT_FOUND_SHIPMENT_BOX',
                              resultMessage => '배송상태를 변경할 수 없습니다. 주문내역을 확인해주세요.',
                              retryRequired => JSON::PP::false };
            }
        }

        return results_reply(\@list);
    });
}

sub invoice {
    my ($self, $req) = @_;
    my $body = $req->{body};

    return $self->state(sub {
        my ($st) = @_;

        my $j = eval { JSON::PP->new->allow_bignum->decode($body) };
        if (!$j || ref $j->{orderSheetInvoiceApplyDtos} ne 'ARRAY') {
            problem($st, 'invoice: not {vendorId, orderSheetInvoiceApplyDtos}');
            return reply(400, { code => 400, message => 'bad body' });
        }

        problem($st, 'invoice: vendorId') unless ($j->{vendorId} // '') eq $self->{vendor};
        problem($st, 'invoice: ids not bare numbers')
            if $body =~ /"(shipmentBoxId|orderId|vendorItemId)"\s*:\s*"/;

        my (%boxes, @list);
        for my $e (@{ $j->{orderSheetInvoiceApplyDtos} }) {
            my $id = "$e->{shipmentBoxId}";
            push @{ $boxes{$id} }, $e;
            problem($st, 'invoice: not DIRECT') unless ($e->{deliveryCompanyCode} // '') eq 'DIRECT';
            problem($st, 'invoice: invoiceNumber not digits') unless ($e->{invoiceNumber} // '') =~ /^\d+$/;
            problem($st, 'invoice: splitShipping not false')
                unless defined $e->{splitShipping} && !$e->{splitShipping}
                       && JSON::PP::is_bool($e->{splitShipping});
            problem($st, 'invoice: preSplitShipped not false')
                unless defined $e->{preSplitShipped} && !$e->{preSplitShipped};
        }

        for my $id (sort keys %boxes) {
            my $o = $st->{orders}{$id};
            if (!$o) {
                push @list, { shipmentBoxId => $id, succeed => JSON::PP::false,
                              resultCode => 'NOT_FOUND_SHIPMENT_BOX',
                              resultMessage => '', retryRequired => JSON::PP::false };
                next;
            }

            my %want = map { ($_->{vendor_item_id} => 1) } @{ $o->{items} };
            my %got = map { ("$_->{vendorItemId}" => 1) } @{ $boxes{$id} };
            problem($st, "invoice $id: not one entry per item")
                unless join(',', sort keys %want) eq join(',', sort keys %got)
                       && @{ $boxes{$id} } == keys %want;
            problem($st, "invoice $id: wrong orderId")
                if grep { "$_->{orderId}" ne $o->{order} } @{ $boxes{$id} };

            if ($o->{status} ne 'INSTRUCT' || take_fault($st, 'invoice_invalid')) {
                $o->{invoices_refused}++;
                push @{ $o->{wire} }, 'invoice refused';
                push @list, { shipmentBoxId => $id, succeed => JSON::PP::false,
                              resultCode => 'INVALID_STATUS',
                              resultMessage => 'not INSTRUCT',
                              retryRequired => JSON::PP::false };
                next;
            }

            $o->{status} = 'DEPARTURE';
            $o->{invoice} = "$boxes{$id}[0]{invoiceNumber}";
            $o->{invoiced_at} = Time::HiRes::time;
            $o->{invoices}++;
            push @{ $o->{wire} }, 'invoice';
            push @list, { shipmentBoxId => $id, succeed => JSON::PP::true,
                          resultCode => 'OK', resultMessage => '',
                          retryRequired => JSON::PP::false };
        }

        return results_reply(\@list);
    });
}

sub returns {
    my ($self, $q) = @_;

    return $self->state(sub {
        my ($st) = @_;
        my $type = $q->{cancelType} // 'RETURN';

        problem($st, 'returnRequests RETURN without status')
            if $type eq 'RETURN' && !$q->{status};
        problem($st, 'returnRequests CANCEL with status')
            if $type eq 'CANCEL' && $q->{status};

        my $from = kst_parse($q->{createdAtFrom} // '');
        my $to = kst_parse($q->{createdAtTo} // '');
        return reply(400, { code => 400, message => 'bad dates' })
            unless defined $from && defined $to;

        problem($st, "returnRequests: unknown status $q->{status}")
            if $type eq 'RETURN' && $q->{status}
               && !$RECEIPT_STATUS{$q->{status}};

        $st->{return_lists}{$type eq 'CANCEL' ? 'CANCEL' : $q->{status}}++;

        my @r = grep {
            $_->{type} eq $type && $_->{created} >= $from && $_->{created} < $to
                && ($type eq 'CANCEL'
                    || $_->{status} eq ($RECEIPT_STATUS{$q->{status}} // ''))
        } @{ $st->{returns} };

        return reply(200, { code => 200, message => 'OK', nextToken => '',
            data => [ map { {
                receiptId => "$_->{receipt}", orderId => "$_->{order}",
                paymentId => '1', receiptType => $_->{type},
                receiptStatus => $_->{status},
                createdAt => kst_text($_->{created}),
                modifiedAt => kst_text($_->{created}),
                cancelReasonCategory1 => '고객변심', cancelReasonCategory2 => '',
                cancelReason => '', cancelCountSum => $_->{count},
                faultByType => 'CUSTOMER', preRefund => JSON::PP::false,
                returnItems => [ {
                    vendorItemId => "$_->{item}", cancelCount => $_->{count},
                    purchaseCount => $_->{count},
                    shipmentBoxId => "$_->{box}", sellerProductId => '80240831',
                    releaseStatus => 'N' } ],
                returnDeliveryDtos => [],
            } } @r ] });
    });
}

sub withdrawals {
    my ($self, $q) = @_;

    return $self->state(sub {
        my ($st) = @_;
        return reply(200, { code => 200, message => 'OK', data => [
            map { { cancelId => "$_->{receipt}", orderId => "$_->{order}",
                    createdAt => kst_text($_->{withdrawn}, '%Y-%m-%d %H:%M:%S'),
                    vendorItemIds => [ "$_->{item}" ] } }
            @{ $st->{withdrawals} } ], nextPageIndex => undef });
    });
}

sub inquiries {
    my ($self, $which, $q) = @_;

    return $self->state(sub {
        my ($st) = @_;
        my $online = $which eq 'onlineInquiries';

        problem($st, "$which without vendorId in the query")
            unless ($q->{vendorId} // '') eq $self->{vendor};

        my @q = grep { ($_->{kind} eq 'online') == $online && !$_->{answered} }
                @{ $st->{inquiries} };

        my @content = map {
            $online
            ? { inquiryId => "$_->{id}", productId => '31846051',
                vendorItemId => '3242596358', content => $_->{text},
                inquiryAt => kst_text($_->{created}, '%Y-%m-%d %H:%M:%S'),
                orderIds => undef, commentDtoList => [] }
            : { inquiryId => "$_->{id}", inquiryStatus => 'progress',
                csPartnerCounselingStatus => 'requestAnswer',
                vendorItemId => [ '3242596358' ], itemName => '도서',
                content => $_->{text},
                inquiryAt => kst_text($_->{created}, '%Y-%m-%d %H:%M:%S'),
                answeredAt => '', buyerPhone => '010-****-1234',
                orderId => '22000009546234', orderDate => '2025-09-01',
                receiptCategory => '반품', replies => [] }
        } @q;

        return reply(200, { code => 200, message => 'OK', data => {
            content => \@content,
            pagination => { currentPage => 1, totalPages => 1,
                            totalElements => scalar @content,
                            countPerPage => 50 } } });
    });
}

1;
