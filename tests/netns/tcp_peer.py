#!/usr/bin/env python3
"""The kernel's side of tcp_kernel_peer.sh: TCP clients over the kernel's own sockets.

    tcp_peer.py sequential HOST PORT COUNT SECONDS   COUNT echo connections one after another
    tcp_peer.py concurrent HOST PORT COUNT SECONDS   COUNT echo connections open at once
    tcp_peer.py discard HOST PORT BYTES SECONDS      send BYTES, half-close, wait for the FIN
    tcp_peer.py chargen HOST PORT BYTES SECONDS      read BYTES and check RFC 864's pattern
    tcp_peer.py refused HOST PORT                    connect() must fail with ECONNREFUSED
    tcp_peer.py echo HOST PORT BYTES SECONDS         one echo of BYTES (pseudo-random), compared
    tcp_peer.py serve HOST SECONDS                   the reference: echo (7), discard (9) and
                                                     chargen (19) servers on the kernel's sockets

Every mode is bounded by SECONDS (or 5 s) overall, prints one line that starts with "ok" or
"fail" and exits 0 or 1 accordingly. Byte counts the peer acknowledged come from the kernel's
TCP_INFO (tcpi_bytes_acked, which counts the SYN and the FIN as one byte each).
"""
import os
import socket
import struct
import sys
import threading
import time

# struct tcp_info (linux/tcp.h): tcpi_total_retrans at 100, tcpi_bytes_acked at 120,
# tcpi_bytes_received at 128.
TCP_INFO_LEN = 232


def tcp_info(sock):
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LEN)
    (total_retrans,) = struct.unpack_from("I", raw, 100)
    bytes_acked, bytes_received = struct.unpack_from("QQ", raw, 120)
    return {"retrans": total_retrans, "acked": bytes_acked, "received": bytes_received}


def payload(seed, length):
    """Deterministic bytes that differ per connection, so crossed streams are noticed."""
    block = (b"%08d" % seed) + bytes(range(256)) + b"tapir"
    return (block * (length // len(block) + 1))[:length]


def recv_all(sock, deadline):
    got = bytearray()
    while True:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(got)
        got += chunk


def echo_round(host, port, data, deadline):
    """Connect, send DATA, half-close, read until the server's FIN; the bytes read."""
    sock = socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic()))
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return recv_all(sock, deadline)
    finally:
        sock.close()


def sequential(host, port, count, seconds):
    # RFC 9293 §3.5: every connection ends with both FINs; the kernel, which closes first here,
    # keeps the TIME-WAIT, so a new connection gets a new port each time.
    start = time.monotonic()
    deadline = start + seconds
    for i in range(count):
        if time.monotonic() > deadline:
            return fail("%d of %d connections done when the %d s ran out" % (i, count, seconds))
        data = payload(i, 64 + (i % 7) * 100)
        try:
            got = echo_round(host, port, data, min(deadline, time.monotonic() + 10))
        except OSError as e:
            return fail("connection %d of %d: %s" % (i + 1, count, e))
        if got != data:
            return fail("connection %d of %d: sent %d bytes, got back %d different ones"
                        % (i + 1, count, len(data), len(got)))
    return ok("%d connections, %.1f s" % (count, time.monotonic() - start))


def concurrent(host, port, count, seconds):
    # All COUNT connections are established before any sends (a barrier), so they really are
    # open at once; then each echoes 16 KiB of its own bytes.
    start = time.monotonic()
    deadline = start + seconds
    barrier = threading.Barrier(count)
    errors = []
    lock = threading.Lock()

    def one(i):
        data = payload(i, 16384)
        try:
            sock = socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic()))
        except OSError as e:
            with lock:
                errors.append("connect %d: %s" % (i, e))
            barrier.abort()
            return
        try:
            barrier.wait(timeout=max(0.1, deadline - time.monotonic()))
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            got = recv_all(sock, deadline)
            if got != data:
                with lock:
                    errors.append("connection %d: sent %d bytes, got back %d different ones"
                                  % (i, len(data), len(got)))
        except (OSError, threading.BrokenBarrierError) as e:
            with lock:
                errors.append("connection %d: %s" % (i, e or type(e).__name__))
        finally:
            sock.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, deadline + 1 - time.monotonic()))
    alive = sum(t.is_alive() for t in threads)
    if errors or alive:
        shown = "; ".join(sorted(errors)[:5])
        return fail("%d of %d failed, %d still running: %s" % (len(errors), count, alive, shown))
    return ok("%d connections at once, %.1f s" % (count, time.monotonic() - start))


def discard(host, port, length, seconds):
    # RFC 863: the server reads everything and answers nothing; when the client half-closes it
    # sees the end of the stream and closes too. The kernel's TCP_INFO says how many bytes the
    # server acknowledged: LENGTH + 2 (SYN and FIN).
    start = time.monotonic()
    deadline = start + seconds
    sock = socket.create_connection((host, port), timeout=10)
    chunk = payload(0, 1 << 20)
    view = memoryview(chunk)
    sent = 0
    try:
        while sent < length:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            n = min(len(chunk), length - sent)
            sock.sendall(view[:n])
            sent += n
        sock.shutdown(socket.SHUT_WR)
        extra = recv_all(sock, deadline)
        info = tcp_info(sock)
    except OSError as e:
        return fail("after %d of %d bytes: %s" % (sent, length, e))
    finally:
        sock.close()
    took = time.monotonic() - start
    if extra:
        return fail("the discard server sent %d bytes" % len(extra))
    if info["acked"] != length + 2:
        return fail("tcpi_bytes_acked %d, expected %d (the bytes, SYN and FIN)"
                    % (info["acked"], length + 2))
    return ok("%d bytes acknowledged, %.1f s, %.1f MB/s, %d retransmitted"
              % (length, took, length / took / 1e6, info["retrans"]))


def chargen_pattern():
    """RFC 864: 72-character lines of the 95 printing characters, each line starting one
    character further into the ring, each ended by CR LF; the pattern repeats every 95 lines."""
    ring = bytes(range(32, 127))
    lines = []
    for i in range(95):
        lines.append((ring[i:] + ring[:i])[:72] + b"\r\n")
    return b"".join(lines)


def chargen(host, port, length, seconds):
    start = time.monotonic()
    deadline = start + seconds
    period = chargen_pattern()
    sock = socket.create_connection((host, port), timeout=10)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    # The pattern repeated so that any window of len(buf) bytes at any offset is one slice.
    big = period * (len(buf) // len(period) + 2)
    got = 0
    offset = None  # where in the period the stream started
    try:
        while got < length:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            n = sock.recv_into(view[: min(len(buf), length - got)])
            if n == 0:
                return fail("the server closed after %d of %d bytes" % (got, length))
            if offset is None:
                first = buf[0]
                if not 32 <= first <= 126:
                    return fail("the stream starts with byte %d, not a printing character" % first)
                offset = (first - 32) * 74
            at = (offset + got) % len(period)
            if view[:n] != big[at : at + n]:
                for k in range(n):
                    if buf[k] != big[at + k]:
                        break
                return fail("byte %d is %r, RFC 864's pattern has %r there (line %r)"
                            % (got + k, bytes(buf[k : k + 1]), big[at + k : at + k + 1],
                               bytes(buf[max(0, k - 40) : k + 34])))
            got += n
        info = tcp_info(sock)
    except OSError as e:
        return fail("after %d of %d bytes: %s" % (got, length, e))
    finally:
        sock.close()  # with unread data: the kernel resets the connection (RFC 2525 §2.17)
    took = time.monotonic() - start
    return ok("%d bytes in RFC 864's pattern (first line starts with %r), %.1f s, %.1f MB/s"
              % (length, chr(32 + offset // 74), took, length / took / 1e6))


def refused(host, port):
    # RFC 9293 §3.10.7.1: a SYN to a closed port draws a RST, so connect() fails at once.
    start = time.monotonic()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    try:
        sock.connect((host, port))
        return fail("connected")
    except ConnectionRefusedError:
        took = time.monotonic() - start
        if took > 1.0:
            return fail("refused, but only after %.3f s" % took)
        return ok("ECONNREFUSED after %.3f s" % took)
    except OSError as e:
        return fail(str(e))
    finally:
        sock.close()


def echo(host, port, length, seconds):
    # Sends and reads at once (a thread sends), so any LENGTH works whatever the buffers are.
    start = time.monotonic()
    deadline = start + seconds
    data = os.urandom(length)
    sock = socket.create_connection((host, port), timeout=10)
    send_error = []

    def sender():
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            send_error.append(e)

    t = threading.Thread(target=sender, daemon=True)
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    t.start()
    try:
        got = recv_all(sock, deadline)
    except OSError as e:
        return fail("reading: %s" % e)
    finally:
        t.join(1)
        sock.close()
    if send_error:
        return fail("sending: %s" % send_error[0])
    if got != data:
        return fail("sent %d bytes, got back %d (%s)"
                    % (length, len(got), "a prefix" if data.startswith(got) else "different"))
    return ok("%d bytes echoed, %.1f s" % (length, time.monotonic() - start))


def serve(host, seconds):
    """Linux as the device under test (tcp_kernel_peer.sh's reference run): RFC 862, 863 and 864
    over TCP, one thread per connection, until SECONDS have passed."""
    period = chargen_pattern()
    block = period * ((1 << 20) // len(period) + 1)

    def echo_conn(conn):
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)

    def discard_conn(conn):
        while conn.recv(1 << 20):
            pass

    def chargen_conn(conn):
        # Starts at the ring's second character, as RFC 864's example does; every chunk is a
        # whole number of periods, so the stream stays in the pattern.
        rotated = block[74:] + block[:74]
        view = memoryview(rotated[: len(rotated) // len(period) * len(period)])
        while True:
            conn.sendall(view)

    def handle(conn, fn):
        try:
            fn(conn)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()

    def accept_loop(listener, fn):
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=handle, args=(conn, fn), daemon=True).start()

    for port, fn in ((7, echo_conn), (9, discard_conn), (19, chargen_conn)):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        threading.Thread(target=accept_loop, args=(listener, fn), daemon=True).start()
    time.sleep(seconds)
    return 0


def ok(text):
    print("ok " + text)
    return 0


def fail(text):
    print("fail " + text)
    return 1


def main(argv):
    mode, host = argv[1], argv[2]
    if mode == "serve":
        return serve(host, float(argv[3]))
    port = int(argv[3])
    if mode == "refused":
        return refused(host, port)
    number, seconds = int(argv[4]), float(argv[5])
    modes = {"sequential": sequential, "concurrent": concurrent, "discard": discard,
             "chargen": chargen, "echo": echo}
    return modes[mode](host, port, number, seconds)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as e:
        sys.exit(fail(str(e)))
