"""Length-prefixed messages over a stream socket, with a deadline on every read and write.

Examples:
    >>> import socket
    >>> a, b = socket.socketpair()
    >>> Channel(a).send(b"hello")
    >>> Channel(b).recv(deadline=None)
    b'hello'
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time

#: The length prefix of every message.
HEADER = struct.Struct("!Q")


class ChannelTimeout(TimeoutError):
    """The other side did not answer before the deadline."""


class ChannelClosed(EOFError):
    """The other side closed the channel (or the process behind it died)."""


def frame(data: bytes) -> bytes:
    """One message as sent: its length, then its bytes."""
    return HEADER.pack(len(data)) + data


class Channel:
    """One end of a socket carrying length-prefixed messages.

    Args:
        sock: a connected stream socket (a ``socketpair`` end).
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def send(self, data: bytes, deadline: float | None = None) -> None:
        """Send one message; by ``deadline`` (``time.monotonic``), if given.

        Raises:
            ChannelTimeout: the other side did not take it in time.
            ChannelClosed: the other side is gone.
        """
        try:
            if deadline is not None:
                self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            self.sock.sendall(frame(data))
        except TimeoutError as error:
            raise ChannelTimeout("the other side did not take the message in time") from error
        except OSError as error:
            raise ChannelClosed(f"the other side is gone: {error}") from error
        finally:
            if deadline is not None:
                with contextlib.suppress(OSError):
                    self.sock.settimeout(None)

    def recv(self, deadline: float | None) -> bytes:
        """The next message; wait until ``deadline`` (``None``: as long as it takes).

        Raises:
            ChannelTimeout: no whole message came in time (what came is kept).
            ChannelClosed: the other side closed the channel or died.
        """
        self._fill(HEADER.size, deadline)
        (size,) = HEADER.unpack(self._buffer[: HEADER.size])
        self._fill(HEADER.size + size, deadline)  # a partial message stays in the buffer
        data = self._buffer[HEADER.size : HEADER.size + size]
        self._buffer = self._buffer[HEADER.size + size :]
        return data

    def _fill(self, size: int, deadline: float | None) -> None:
        """Read until the buffer holds ``size`` bytes."""
        while len(self._buffer) < size:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ChannelTimeout("the other side overran its deadline")
                try:
                    readable, _, _ = select.select([self.sock], [], [], remaining)
                except (OSError, ValueError) as error:
                    raise ChannelClosed(f"the channel is closed: {error}") from error
                if not readable:
                    continue
            try:
                chunk = self.sock.recv(max(65536, min(size - len(self._buffer), 1 << 24)))
            except OSError as error:
                raise ChannelClosed(f"the other side is gone: {error}") from error
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            self._buffer += chunk

    def quiet(self) -> bool:
        """Whether nothing waits to be read (an idle peer never writes: data or EOF means gone)."""
        if self._buffer:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        """Close this end (the other side sees EOF)."""
        with contextlib.suppress(OSError):
            self.sock.close()
