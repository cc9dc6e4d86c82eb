"""A pool of warm members: checkout under a deadline, kill and replace, a policy for its size.

A *member* is a process the pool hands out for one request at a time (a grader worker, a
sandbox server); it only needs :meth:`Member.alive` and :meth:`Member.kill`. The pool asks
its *supply* for new members, which arrive through :meth:`WarmPool.deliver`, at once (the
supply made one) or later (another thread started it). How many members to keep is the
policy: :meth:`WarmPool.wanted` (default: ``size``; override it).

Examples:
    >>> class Member:
    ...     def alive(self): return True
    ...     def kill(self): print("killed")
    >>> pool = WarmPool(2, supply=lambda: pool.deliver(Member()))
    >>> member = pool.checkout(deadline=float("inf"))
    >>> pool.discard(member)  # overran: killed, and a replacement asked for
    killed
    >>> pool.counts()
    (2, 2)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Member(Protocol):
    """What the pool needs of a member."""

    def alive(self) -> bool:
        """Whether the member, idle, is still usable."""
        ...

    def kill(self) -> None:
        """Stop the member and release what it holds (no waiting for it)."""
        ...


M = TypeVar("M", bound=Member)


class PoolClosed(RuntimeError):
    """The pool is closed."""


class NoMember(TimeoutError):
    """No member was ready before the deadline, or the supply failed; nothing was killed."""


class WarmPool(Generic[M]):
    """Up to ``size`` warm members, handed out one request at a time.

    Args:
        size: the most members at once (idle, busy and asked for).
        supply: asks for one new member; it must call :meth:`deliver` with it, or with
            ``None`` and the reason it could not.
        backoff: seconds after a failed supply before the pool asks again.
    """

    def __init__(self, size: int, supply: Callable[[], None], backoff: float = 0.0) -> None:
        if size < 1:
            raise ValueError(f"expected a pool size >= 1, got {size}")
        self.size = size
        self.supply = supply
        self.backoff = backoff
        self.busy = 0  # requests in flight, waiting ones included (for growth policies)
        self._idle: list[M] = []
        self._count = 0  # idle + checked out + asked for
        self._error = ""
        self._failed_at = -backoff - 1.0
        self._declined = False  # the supply declined (a budget): no asking until a change
        self.cond = threading.Condition()
        self.closed = False

    def wanted(self) -> int:
        """How many members to keep now (the policy); at most :attr:`size`."""
        return self.size

    def counts(self) -> tuple[int, int]:
        """``(members, idle)``: members idle, checked out and asked for; idle ones."""
        with self.cond:
            return self._count, len(self._idle)

    def top_up(self) -> None:
        """Ask the supply for members until the pool has what :meth:`wanted` says."""
        with self.cond:
            asks = self._asks()
        for _ in range(asks):
            self.supply()

    def _asks(self, most: int | None = None) -> int:
        """Count the members to ask for now (the caller holds the lock, asks after it)."""
        if self.closed or self._declined or time.monotonic() - self._failed_at < self.backoff:
            return 0
        asks = max(0, min(self.wanted(), self.size) - self._count)
        if most is not None:
            asks = min(asks, most)
        self._count += asks
        return asks

    def deliver(self, member: M | None, error: str = "") -> None:
        """A member the supply made, or ``None`` and why it could not."""
        with self.cond:
            if member is None:
                self._count -= 1
                if error:  # a failure (back off); without one, the supply declined (a budget)
                    self._error, self._failed_at = error, time.monotonic()
                else:
                    self._declined = True
            else:
                self._error = ""
                self._keep(member)
            self.cond.notify_all()

    def _keep(self, member: M) -> None:
        """Make ``member`` idle, or kill it if the pool is closed (the caller holds the lock)."""
        if self.closed:
            self._count -= 1
            member.kill()
        else:
            self._idle.append(member)

    def checkout(self, deadline: float) -> M:
        """An idle, live member, waiting until ``deadline`` (``time.monotonic``).

        One checkout asks the supply for at most ``size + 1`` members (replacing members that
        died while idle), so a supply whose members die at once never makes it spin.

        Raises:
            PoolClosed: the pool is closed.
            NoMember: none was ready in time, or the supply failed and none is coming.
        """
        budget = self.size + 1
        while True:
            dead: list[M] = []
            found: M | None = None
            asks = 0
            with self.cond:
                if self.closed:
                    raise PoolClosed("the pool is closed")
                while self._idle and found is None:
                    member = self._idle.pop(0)  # longest idle first: warm, not starting
                    if member.alive():
                        found = member
                    else:  # it died while idle: replaced, unseen by the caller
                        self._count -= 1
                        self._declined = False
                        dead.append(member)
                if found is None:
                    if self._count == 0 and self._error:
                        raise NoMember(self._error)
                    if budget > 0:
                        asks = self._asks(budget)
                        budget -= asks
                    if not asks and not self._idle:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            raise NoMember(self._error)  # "": none came in time
                        self.cond.wait(remaining)
            for member in dead:
                member.kill()
            if found is not None:
                return found
            for _ in range(asks):
                self.supply()

    def checkin(self, member: M) -> None:
        """Give back a member that finished its request."""
        with self.cond:
            self._declined = False
            self._keep(member)
            self.cond.notify_all()

    def discard(self, member: M) -> None:
        """Kill a member that failed (overran, died) and ask for its replacement."""
        member.kill()
        with self.cond:
            self._count -= 1
            self._declined = False
            asks = self._asks()
            self.cond.notify_all()
        for _ in range(asks):
            self.supply()

    def drain(self) -> list[M]:
        """Take every idle member out of the pool (the caller stops them)."""
        with self.cond:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self.cond.notify_all()
            return idle

    def forget(self) -> list[M]:
        """In a forked child: the parent's idle members, dropped without taking the lock.

        Another thread of the parent may have held the lock at the fork; the child gets a new
        one. The caller closes its copies of the members' channels; it must not kill them.
        """
        idle, self._idle = self._idle, []
        self._count, self.cond = 0, threading.Condition()
        return idle

    def close(self) -> None:
        """Kill every idle member; busy ones are killed when they come back."""
        with self.cond:
            self.closed = True
        for member in self.drain():
            member.kill()
