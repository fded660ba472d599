#!/usr/bin/python3
"""Idle-session backend: listens on the given ports of 127.0.0.1, accepts and holds every
connection, closes it when the peer closes. Writes the number of open connections to
STATUS_FILE whenever it changes. Usage: holder.py STATUS_FILE PORT..."""
import os
import resource
import select
import socket
import sys
import time

status, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ep = select.epoll()
listeners, conns = {}, {}
for p in ports:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(4096)
    s.setblocking(False)
    listeners[s.fileno()] = s
    ep.register(s.fileno(), select.EPOLLIN)


def write_status():
    tmp = status + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(len(conns)))
    os.replace(tmp, status)


write_status()
last = -1
while True:
    for fd, ev in ep.poll(0.1):
        if fd in listeners:
            for _ in range(256):
                try:
                    c, _addr = listeners[fd].accept()
                except BlockingIOError:
                    break
                except OSError:  # EMFILE: leave it in the backlog, retry on the next event
                    time.sleep(0.01)
                    break
                c.setblocking(False)
                conns[c.fileno()] = c
                ep.register(c.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        else:
            c = conns.get(fd)
            if c is None:
                continue
            try:
                data = c.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                ep.unregister(fd)
                del conns[fd]
                c.close()
    if len(conns) != last:
        last = len(conns)
        write_status()
