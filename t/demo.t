# make run, as a new user meets it: in a terminal (script(1) gives it one),
# on ports of its own (DEMO_PORT), the README's commands answer what the
# README says, no command line shows a secret, and Ctrl-C ends it with
# exit status 0 and nothing left running.

use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use FindBin;
use IO::Select;
use IO::Socket::INET;
use File::Path qw(remove_tree);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Gateway ();

my $root = abs_path("$FindBin::Bin/..");
my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';

plan skip_all => 'script(1) gives make run its terminal'
    unless -x '/usr/bin/script';

sub slurp { my ($f) = @_; local (@ARGV, $/) = $f; my $t = <>; $t }

# sixteen free consecutive ports, as DEMO_PORT wants them, claimed as
# every test's are (other test files may run at once)
my $base = Gateway::free_ports(16);
sub port { $base + $_[0] }
END { remove_tree("$root/build/run-$base") if $base }

sub listening {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port($_[0]),
                                  Timeout => 1);
    close $s if $s;
    return !!$s;
}

# the README's commands and answers, moved to the test's ports
my $readme = slurp("$root/README.md");
my ($intro) = $readme =~ /\A(.*?)^## /ms;
my @curls = $intro =~ /^    (curl .*)$/mg;
s{127\.0\.0\.1:808([0-8])\b}{'127.0.0.1:' . port($1)}ge for @curls;
my ($via_gateway) = grep { !/ -x / } @curls;
my ($via_proxy) = grep { / -x / } @curls;
my ($answer) = $intro =~ /answers `HTTP\/1\.1 200 OK` and `([^`]+)`/;
ok($via_gateway && $via_proxy && $answer,
   'README: a curl, a curl -x and the answer') or BAIL_OUT('README changed');

# make run in a terminal: its input is ours, to type Ctrl-C
$ENV{DEMO_PORT} = $base;
pipe(my $from_demo, my $demo_out) or die "pipe: $!";
pipe(my $demo_in, my $to_demo) or die "pipe: $!";
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    close $from_demo;
    close $to_demo;
    open STDIN, '<&', $demo_in or die;
    open STDOUT, '>&', $demo_out or die;
    open STDERR, '>&', $demo_out or die;
    exec 'script', '-qefc', "make -s -C '$root' run NGINX_BIN='$nginx'",
         '/dev/null';
    die "exec: $!";
}
close $demo_in;
close $demo_out;
$to_demo->autoflush(1);

my $output = '';
my $sel = IO::Select->new($from_demo);
sub drain {
    my ($seconds) = @_;
    while ($sel->can_read($seconds)) {
        sysread($from_demo, $output, 65536, length $output) or last;
        $seconds = 0;
    }
}

my $deadline = time + 300;   # a first build included
until ($output =~ /Ctrl-C stops\./ && listening(0) && listening(1)
       && listening(8))
{
    drain(0.2);
    if (time > $deadline || waitpid($pid, WNOHANG) == $pid) {
        diag $output;
        BAIL_OUT('make run did not start');
    }
}
pass('make run started');

# the README's call through the gateway, and straight to the sandbox

sub curl {
    my ($cmd) = @_;
    $cmd =~ s/^curl /curl -s -i /;
    my $out = `$cmd`;
    my ($head, $body) = split /\r\n\r\n/, $out, 2;
    my ($status_line) = split /\r\n/, $head // '';
    return ($status_line // '', $body // '');
}

my ($line, $body) = curl($via_gateway);
is($line, 'HTTP/1.1 200 OK', 'gateway: the status line Coupang sends');
is($body, $answer, 'gateway: the body the README shows');

my $direct = $via_gateway;
$direct =~ s{127\.0\.0\.1:\d+/coupang/}{'127.0.0.1:' . port(1) . '/'}e;
($line, $body) = curl($direct);
is($line, 'HTTP/1.1 401 Unauthorized', 'sandbox directly: 401 Unauthorized');
like($body, qr/^\{"code":"ERROR","message":"Request is not authorized\.",/,
     'sandbox directly: Coupang\'s message');

($line, $body) = curl($via_proxy);
is($line, 'HTTP/1.1 200 OK', 'curl -x: the gateway as an HTTP proxy');
is($body, $answer, 'curl -x: the same answer');

# the Coupang e-book flow: an order on demand, the buyer's SMS with its
# link printed by the Solapi sandbox, the box fulfilled at the sandbox

my $made = `curl -s -X POST http://127.0.0.1:@{[port(1)]}/mock/orders`;
my ($box) = $made =~ /"shipmentBoxId":"(\d{18})"/;
ok($box, 'an order on demand') or diag $made;
my $link = qr{\[solapi\] \S+ to 0503\d{8}.*http://127\.0\.0\.1:@{[port(0)]}/a/[A-Za-z0-9_-]{43}};
$deadline = time + ($ENV{VALGRIND} ? 120 : 40);
drain(0.2) until $output =~ $link || time > $deadline;
like($output, $link, "the buyer's message with its link, at the SMS sandbox");
my $state = '';
$deadline = time + ($ENV{VALGRIND} ? 120 : 40);
until ($state =~ /"status" : "DEPARTURE"/ || time > $deadline) {
    drain(0.5);
    $state = `curl -s http://127.0.0.1:@{[port(1)]}/mock/state`;
}
like($state, qr/"status" : "DEPARTURE"/,
     'the box acknowledged and invoiced (DEPARTURE) at the sandbox');

# no command line of the demo shows a secret

my ($master) = slurp("$root/build/run-$base/nginx.pid") =~ /(\d+)/;
ok($master, 'nginx wrote its pid');
my ($sid) = `ps -o sid= -p $master` =~ /(\d+)/;
my @procs = grep { /\S/ } split /\n/, `ps -o pid=,args= -s $sid`;
ok((grep { /MockCoupang/ } @procs), 'the sandbox runs in the session')
    or diag explain \@procs;
for my $key (qw(demo-secret.key demo-webhook.key demo-stripe.key)) {
    my $secret = slurp("$root/conf/$key");
    $secret =~ s/\r?\n\z//;
    my @shown = grep { index($_, $secret) >= 0 } @procs;
    is(scalar @shown, 0, "no command line shows $key")
        or diag explain \@shown;
}

# Ctrl-C: a clean stop, exit status 0, nothing left behind

print $to_demo "\x03";
$deadline = time + 30;
my $status;
while (time < $deadline) {
    drain(0.2);
    if (waitpid($pid, WNOHANG) == $pid) { $status = $?; last; }
}
drain(0);
if (!defined $status) {
    kill 'KILL', grep { /^\d+$/ } map { (split ' ', $_)[0] }
                 split /\n/, `ps -o pid= -s $sid`;
    kill 'KILL', $pid;
    waitpid($pid, 0);
}
is($status, 0, 'Ctrl-C: make run exits 0') or diag $output;
unlike($output, qr/\*\*\*|Error \d/, 'Ctrl-C: make reports no error');
my @left;
for (1 .. 50) {
    @left = grep { /\S/ && !/<defunct>/ } split /\n/,
            `ps -o pid=,args= -s $sid`;
    last unless @left;
    sleep 0.1;
}
is(scalar @left, 0, 'Ctrl-C: nothing of the demo left running')
    or diag explain \@left;
ok(!listening(0) && !listening(1) && !listening(8),
   'Ctrl-C: its ports are closed');

done_testing();
