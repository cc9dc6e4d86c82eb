"""The process layer the grader and the sandbox share: messages with deadlines, the pool."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from mathattempt_env._proc.pool import NoMember, PoolClosed, WarmPool
from mathattempt_env._proc.wire import HEADER, Channel, ChannelClosed, ChannelTimeout


def test_a_reply_that_never_comes_is_a_timeout_at_the_deadline():
    mine, theirs = socket.socketpair()
    channel = Channel(mine)
    start = time.monotonic()
    with pytest.raises(ChannelTimeout):
        channel.recv(deadline=time.monotonic() + 0.2)
    assert 0.2 <= time.monotonic() - start < 2
    theirs.sendall(HEADER.pack(5) + b"he")  # half a message: still a timeout, kept
    with pytest.raises(ChannelTimeout):
        channel.recv(deadline=time.monotonic() + 0.1)
    theirs.sendall(b"llo")
    assert channel.recv(deadline=time.monotonic() + 1) == b"hello"


def test_a_hostile_length_costs_only_what_arrives_and_ends_at_the_deadline():
    mine, theirs = socket.socketpair()
    theirs.sendall(HEADER.pack(2**63 - 1) + b"x" * 1000)
    with pytest.raises(ChannelTimeout):
        Channel(mine).recv(deadline=time.monotonic() + 0.3)


def test_a_peer_that_dies_is_closed_not_a_hang():
    mine, theirs = socket.socketpair()
    channel = Channel(mine)
    assert channel.quiet()
    theirs.close()
    assert not channel.quiet()  # EOF is readable: an idle peer that went away
    with pytest.raises(ChannelClosed):
        channel.recv(deadline=None)
    with pytest.raises(ChannelClosed):
        channel.send(b"x" * 1_000_000, deadline=time.monotonic() + 1)


def test_a_send_nobody_reads_times_out():
    mine, _theirs = socket.socketpair()
    with pytest.raises(ChannelTimeout):
        Channel(mine).send(b" " * (64 << 20), deadline=time.monotonic() + 0.3)


class Member:
    def __init__(self):
        self.dead = False
        self.killed = False

    def alive(self):
        return not self.dead

    def kill(self):
        self.killed = True


def test_many_threads_share_a_pool_within_its_size():
    pool: WarmPool[Member] = WarmPool(3, supply=lambda: pool.deliver(Member()))
    out, most, lock = [], [0], threading.Lock()
    held = set()

    def work():
        for _ in range(200):
            member = pool.checkout(time.monotonic() + 10)
            with lock:
                assert id(member) not in held  # one request at a time per member
                held.add(id(member))
                most[0] = max(most[0], len(held))
            with lock:
                held.discard(id(member))
            pool.checkin(member)
            out.append(1)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(out) == 3200 and most[0] <= 3 and pool.counts()[0] <= 3


def test_dead_and_failed_members_are_replaced():
    pool: WarmPool[Member] = WarmPool(1, supply=lambda: pool.deliver(Member()))
    first = pool.checkout(time.monotonic() + 1)
    pool.checkin(first)
    first.dead = True  # died while idle (an OOM kill): replaced, unseen
    second = pool.checkout(time.monotonic() + 1)
    assert second is not first and first.killed
    pool.discard(second)  # overran: killed and replaced
    assert second.killed and pool.counts() == (1, 1)


def test_a_failing_supply_is_one_clear_error_and_backs_off():
    calls = []

    def supply():
        calls.append(1)
        pool.deliver(None, "the fork server did not start")

    pool: WarmPool[Member] = WarmPool(2, supply=supply, backoff=60)
    with pytest.raises(NoMember, match="the fork server did not start"):
        pool.checkout(time.monotonic() + 5)
    asked = len(calls)
    with pytest.raises(NoMember, match="the fork server did not start"):
        pool.checkout(time.monotonic() + 0.1)
    assert len(calls) == asked  # backing off: not asked again at once


def test_a_declining_supply_leaves_the_caller_to_its_deadline():
    pool: WarmPool[Member] = WarmPool(2, supply=lambda: pool.deliver(None))  # budget spent
    start = time.monotonic()
    with pytest.raises(NoMember) as missing:
        pool.checkout(time.monotonic() + 0.2)
    assert str(missing.value) == "" and time.monotonic() - start >= 0.2


def test_a_closed_pool_kills_what_comes_back():
    pool: WarmPool[Member] = WarmPool(2, supply=lambda: pool.deliver(Member()))
    busy = pool.checkout(time.monotonic() + 1)
    pool.close()
    with pytest.raises(PoolClosed):
        pool.checkout(time.monotonic() + 1)
    pool.checkin(busy)
    assert busy.killed and pool.counts() == (0, 0)


def test_a_forked_child_drops_the_parents_members_without_their_lock():
    pool: WarmPool[Member] = WarmPool(1, supply=lambda: pool.deliver(Member()))
    pool.checkin(pool.checkout(time.monotonic() + 1))
    pool.cond.acquire()  # as if another thread held it at the fork
    child = os.fork()
    if child == 0:
        code = 0 if len(pool.forget()) == 1 and pool.counts() == (0, 0) else 1
        os._exit(code)
    pool.cond.release()
    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0


def test_members_that_die_at_once_never_make_a_checkout_spin():
    """A supply whose members are dead on arrival (a broken host): bounded asks, a clear end."""
    made = []

    def supply():
        member = Member()
        member.dead = True
        made.append(member)
        pool.deliver(member)

    pool: WarmPool[Member] = WarmPool(2, supply=supply)
    start = time.monotonic()
    with pytest.raises(NoMember):
        pool.checkout(time.monotonic() + 0.5)
    assert len(made) <= pool.size + 1 and all(m.killed for m in made)
    assert time.monotonic() - start < 5
