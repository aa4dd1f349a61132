package Cluster;

# Several gateway nodes on loopback that share one Redis (t/lib/Redis.pm)
# and, when the test gives one, one store (t/lib/Store.pm, PostgreSQL):
# each node is a Gateway of its own (its own ports, directory, error log
# and log checks), started from the same configuration text, in which
#
#   %%REDIS%%       is the shared Redis's URL (a unix socket)
#   %%NODE%%        is the node's number, 1..N
#   %%PORT:name%%   a port of this node's own (as in Gateway.pm), except
#   %%SHARED:name%% a port the same for every node (a shared stand-in;
#                   $cl->share_port('stripe') makes %%PORT:stripe%% so)
#
#   my $cl = Cluster->new(nodes => 3);   # redis => undef: no Redis
#   $cl->start(http => $conf, store => sub { $st->share($_[0])->directive });
#   $cl->node(1)->get('/x');  $cl->each(sub { my ($gw, $i) = @_; ... });
#   $cl->kill_node(2);        # SIGKILL to the master and its workers
#   $cl->stop;
#
# The node that holds a lease, or any node, can be killed as a machine
# that dies would be; the others go on.

use strict;
use warnings;

use Gateway;
use Redis;
use Time::HiRes ();

sub new {
    my ($class, %args) = @_;
    my $self = bless {
        n => $args{nodes} // 3,
        workers => $args{workers} // 1,
        redis => exists $args{redis} ? $args{redis} : Redis->new,
        shared => {},
        nodes => [],
    }, $class;

    for my $i (1 .. $self->{n}) {
        push @{ $self->{nodes} }, Gateway->new(workers => $self->{workers},
            error_log_level => $args{error_log_level} // 'info');
    }

    return $self;
}

sub redis { $_[0]{redis} }
sub nodes { @{ $_[0]{nodes} } }
sub node { $_[0]{nodes}[$_[1] - 1] }
sub count { $_[0]{n} }

sub shared_port {
    my ($self, $name) = @_;
    return $self->{shared}{$name} //= Gateway::free_port();
}

# %%PORT:name%% the same port on every node (a stand-in they all call)
sub share_port {
    my ($self, $name) = @_;
    my $port = $self->shared_port($name);
    $_->{ports}{$name} = $port for $self->nodes;
    return $port;
}

sub each {
    my ($self, $code) = @_;
    my $i = 0;
    $code->($_, ++$i) for $self->nodes;
}

# the text for node $i: %%REDIS%%, %%NODE%%, %%SHARED:x%%, then the
# node's own %%PORT:x%% and %%DIR%% are left for Gateway
sub text_for {
    my ($self, $text, $i) = @_;
    if ($self->{redis}) {
        my $url = $self->{redis}->url;
        $text =~ s/%%REDIS%%/$url/g;
    }
    $text =~ s/%%NODE%%/$i/g;
    $text =~ s/%%SHARED:(\w+)%%/$self->shared_port($1)/ge;
    return $text;
}

# http => text (the same for all), or a sub(gw, i) giving each its own;
# store => sub(gw, i) giving a node's integrations_store line
sub start {
    my ($self, %args) = @_;
    $self->each(sub {
        my ($gw, $i) = @_;
        my $http = ref $args{http} ? $args{http}->($gw, $i) : $args{http};
        $http = $args{store}->($gw, $i) . $http if $args{store};
        $gw->start(http => $self->text_for($http, $i));
    });
    return $self;
}

sub start_node {
    my ($self, $i, %args) = @_;
    my $gw = $self->node($i);
    my $http = ref $args{http} ? $args{http}->($gw, $i) : $args{http};
    $http = $args{store}->($gw, $i) . $http if $args{store};
    $gw->start(http => $self->text_for($http, $i));
}

# a node's master and its workers (and other children), by pid
sub pids {
    my ($self, $i) = @_;
    my $pid = $self->node($i)->{pid} or return ();
    my @children = split ' ', `pgrep -P $pid 2>/dev/null` // '';
    return ($pid, @children);
}

# the number of the node a process (a lease holder's pid) belongs to, or
# undef when it is no running node's
sub node_of_pid {
    my ($self, $pid) = @_;
    for my $i (1 .. $self->{n}) {
        return $i if grep { $_ == $pid } $self->pids($i);
    }
    return undef;
}

# a node dies: its workers and master get SIGKILL, nothing is cleaned up;
# returns once they are gone (the workers, reparented, may stay zombies
# a while: they run no more)
sub kill_node {
    my ($self, $i) = @_;
    my $gw = $self->node($i);
    my ($pid, @workers) = $self->pids($i) or return;
    kill 'KILL', $pid, @workers;
    waitpid($pid, 0);
    delete $gw->{pid};
    for my $w (@workers) {
        for (1 .. 100) {
            open my $fh, '<', "/proc/$w/stat" or last;
            my $stat = <$fh> // '';
            close $fh;
            last if $stat =~ /^\d+ \(.*\) [ZX] /s;
            Time::HiRes::sleep(0.05);
        }
    }
    $gw->{checked} = 0;
}

sub stop {
    my ($self) = @_;
    $_->stop for $self->nodes;
}

1;
