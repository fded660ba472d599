#!/usr/bin/python3
"""Soak echo backend: one process = one incarnation of a server.

Usage: soak_echo.py DATA_PORT CHECK_PORT INCARNATION

On every accepted data connection it first sends a 10-byte hello `H%08d\\n` (the incarnation,
so a client can tell which process served it and whether that process was killed), then echoes
every byte back; on the client's EOF it shuts its write side down and closes. The check port
only accepts and closes (sluice's `check tcp` with `check-port`): SIGUSR1 closes it (the
server's checks start failing), SIGUSR2 opens it again, while the data port keeps serving.
"""
import signal
import socket
import sys
import threading

HELLO_LEN = 10


def hello(incarnation):
    return b"H%08d\n" % incarnation


def serve(conn, greeting):
    try:
        conn.sendall(greeting)
        while True:
            data = conn.recv(65536)
            if not data:
                conn.shutdown(socket.SHUT_WR)
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    return s


def check_loop(port, want_open):
    s = None
    while True:
        if want_open.is_set() and s is None:
            try:
                s = listener(port)
                s.settimeout(0.2)
            except OSError:
                s = None
                want_open.wait(0.2)
                continue
        if not want_open.is_set() and s is not None:
            s.close()
            s = None
        if s is None:
            threading.Event().wait(0.1)
            continue
        try:
            c, _ = s.accept()
            c.close()
        except socket.timeout:
            pass
        except OSError:
            pass


def main():
    data_port, check_port, incarnation = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    greeting = hello(incarnation)
    want_open = threading.Event()
    want_open.set()
    signal.signal(signal.SIGUSR1, lambda *_: want_open.clear())
    signal.signal(signal.SIGUSR2, lambda *_: want_open.set())
    data = listener(data_port)
    threading.Thread(target=check_loop, args=(check_port, want_open), daemon=True).start()
    while True:
        try:
            c, _ = data.accept()
        except InterruptedError:
            continue
        threading.Thread(target=serve, args=(c, greeting), daemon=True).start()


if __name__ == "__main__":
    main()
