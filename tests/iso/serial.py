#!/usr/bin/env python3
"""serial.py: logs in on a VM's serial console (a QEMU unix-socket chardev) and runs commands.

    serial.py SOCKET USER PASSWORD [--timeout S] CMD...

Logs in (the getty's "login:" prompt), then runs each CMD in the shell and prints its output
and exit status between markers:

    ### CMD <command>
    <output>
    ### RC <status>

Exits 0 when every command ran (whatever their status: the caller reads them), 1 on a timeout
or a lost connection. The standard library only.
"""
import re
import socket
import sys
import time


class Console:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(0.5)
        self.buf = b""
        self.timeout = timeout

    def send(self, text):
        self.sock.sendall(text.encode())

    def expect(self, pattern, timeout=None):
        """Reads until the regex (bytes) matches; returns the text before the match's end."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = rx.search(self.buf)
            if m:
                out, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return out, m
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {pattern!r} within {timeout or self.timeout}s; "
                                   f"last output: {self.buf[-300:]!r}")
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not data:
                raise ConnectionError("the console closed")
            self.buf += data


def main(argv):
    args = argv[1:]
    timeout = 300.0
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    if len(args) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, user, password, cmds = args[0], args[1], args[2], args[3:]
    con = Console(path, timeout)
    try:
        # Wake the getty up until it asks for a login (it may be busy printing boot messages).
        for _ in range(int(timeout / 10)):
            con.send("\r")
            try:
                con.expect(rb"login: ?$", 10)
                break
            except TimeoutError:
                continue
        else:
            raise TimeoutError("no login prompt")
        con.send(user + "\r")
        con.expect(rb"[Pp]assword: ?$", 60)
        con.send(password + "\r")
        con.expect(rb"\$ ?$", 120)
        # A prompt of our own, no echo surprises: plain PS1, no colours, no pager.
        con.send("export PS1='PROMPT> ' PAGER=cat SYSTEMD_PAGER= TERM=dumb; stty -echo\r")
        con.expect(rb"PROMPT> $", 60)
        for n, cmd in enumerate(cmds):
            tag = f"__DONE_{n}_"
            # The status on a line of its own, whether or not the output ended with a newline.
            con.send(f"{cmd}; printf '\\n{tag}%s\\n' $?\r")
            out, m = con.expect(rb"(?m)^" + tag.encode() + rb"(\d+)\r?\n", timeout)
            body = out[:m.start()].decode(errors="replace").replace("\r", "")
            print(f"### CMD {cmd}")
            print(body.rstrip("\n"))
            print(f"### RC {m.group(1).decode()}")
            sys.stdout.flush()
            con.expect(rb"PROMPT> $", 60)
        con.send("exit\r")
    except (TimeoutError, ConnectionError, OSError) as e:
        print(f"serial.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
