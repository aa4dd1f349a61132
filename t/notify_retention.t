# notify_retention: notifications in a final state (sent, delivered,
# failed, unknown) older than the retention are deleted in the
# background, with their attempts; one still queued is kept. SQLite and
# PostgreSQL.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

use Gateway;
use MockNotify;
use Store;

my $VG = $ENV{VALGRIND} ? 1 : 0;
my $J = JSON::PP->new->utf8->canonical;

Store->each_backend(sub {
    my ($backend) = @_;
    my $t = "[$backend]";
    my $gw = Gateway->new(workers => 1);
    my $mock = MockNotify->new(gw => $gw);
    $mock->write_keys($gw);
    my $st = Store->new($backend, $gw);

    $gw->start(http => $st->directive
                       . <<'CONF');
    integrations_outbound_bind 127.0.0.1;
    notify_provider sms type=solapi key_file=%%DIR%%/solapi.key
                    base_url=http://127.0.0.1:%%PORT:solapi%%
                    from=0293022266;
    notify_delivery interval=100ms;
    notify_retention 2s;
    server {
        listen 127.0.0.1:%%PORT:gw%%;
        location /notifications { notify_api; }
    }
CONF

    # the store answers (a first connection is slow under valgrind)
    Store::wait_for(sub {
        $gw->get('/notifications/ntf_0')->{status} == 404 });

    my @ids;
    for my $i (1 .. 3) {
        my $r = $gw->request('POST', '/notifications',
            body => $J->encode({ channel => 'sms', to => "0101111000$i",
                                 text => "retention $i" }),
            headers => { 'Content-Type' => 'application/json' });
        push @ids, eval { $J->decode($r->{body})->{id} };
    }
    my $later = $gw->request('POST', '/notifications',
        body => $J->encode({ channel => 'sms', to => '01011119999',
                             text => 'later', send_at => int(time) + 3600 }),
        headers => { 'Content-Type' => 'application/json' });
    is($later->{status}, 202, "$t one scheduled an hour ahead");

    ok(Store::wait_for(sub {
        $st->value("SELECT COUNT(*) FROM integrations_notifications"
                   . " WHERE state = 2") == 3 }), "$t three sent");
    is($st->value("SELECT COUNT(*) FROM integrations_notification_attempts"),
       3, "$t   with an attempt each");

    ok(Store::wait_for(sub {
        $st->value("SELECT COUNT(*) FROM integrations_notifications") == 1
    }, $VG ? 60 : 15), "$t past the retention they are deleted");
    is($st->value("SELECT COUNT(*) FROM integrations_notification_attempts"),
       0, "$t   with their attempts");
    is($gw->get("/notifications/$ids[0]")->{status}, 404, "$t   GET: 404");
    is($st->value("SELECT state FROM integrations_notifications"), 0,
       "$t   the queued one stays");
    like($gw->error_log, qr/"outbox_purge" deleted \d+ rows/,
         "$t   the cleanup says so");

    $gw->stop;
});

done_testing();
