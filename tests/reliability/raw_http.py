"""Raw-socket helpers for the transport tests (HTTP bytes written and read by hand)."""

from __future__ import annotations

import socket


def read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (or the socket's timeout raises)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data
