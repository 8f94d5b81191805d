"""Socket guard for tests (issue 14): loaded by every Python process started
with this folder on ``PYTHONPATH``. Any ``connect()`` to an address outside
127.0.0.0/8 and ::1 (or to a host name other than localhost) is refused
with ENETUNREACH and appended to the file named by ``$RAGQA_SOCKET_LOG``
(one line ``host port``), so a test can assert that nothing tried to leave
the machine. Unix sockets are not touched.
"""

import errno
import ipaddress
import os
import socket

_LOG = os.environ.get("RAGQA_SOCKET_LOG")
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _outbound(sock, address) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return False
    host = str(address[0]).split("%")[0]
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it would be resolved and left for
        return True


def _record(address) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(f"{address[0]} {address[1] if len(address) > 1 else ''}\n")


def _guarded_connect(self, address):
    if _outbound(self, address):
        _record(address)
        raise OSError(errno.ENETUNREACH, f"outbound connection to {address[0]} blocked by the test socket guard")
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    if _outbound(self, address):
        _record(address)
        return errno.ENETUNREACH
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
