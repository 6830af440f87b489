#!/usr/bin/env python3
"""smtpscript - drive one SMTP session from a script, for end-to-end tests.

Script lines (read from a file or stdin):
  > TEXT        send TEXT + CRLF (queued; sent together at the next expect: pipelining);
                ">" alone sends an empty line, ">\tTEXT" a folded one
  >raw TEXT     send TEXT with escapes (\\r \\n \\x00) and no CRLF added
  >bytes N      send N bytes of 'x' followed by CRLF
  < CODE [RE]   expect a reply with CODE (e.g. 250, 4xx) whose text matches RE
  <eof          expect the server to close the connection
  starttls      upgrade to TLS (no verification)
  sleep SEC     wait
  # ...         comment
Exit status 0 when every expectation held; 1 with the first mismatch on stderr.
"""
import re
import socket
import ssl
import sys
import time


class Session:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.out = b""

    def flush(self):
        if self.out:
            self.sock.sendall(self.out)
            self.out = b""

    def readline(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            line = self.readline()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: smtpscript.py HOST:PORT [SCRIPT] [--timeout SEC]")
    host, port = sys.argv[1].rsplit(":", 1)
    timeout = 10.0
    args = sys.argv[2:]
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    script = open(args[0]).read() if args else sys.stdin.read()
    s = Session(host, int(port), timeout)
    for no, raw in enumerate(script.splitlines(), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            if line.startswith(">raw "):
                s.out += line[5:].encode().decode("unicode_escape").encode("latin-1")
            elif line.startswith(">bytes "):
                s.out += b"x" * int(line[7:]) + b"\r\n"
            elif line.startswith(">"):
                text = line[2:] if line.startswith("> ") else line[1:]
                s.out += text.encode() + b"\r\n"
            elif line.startswith("<eof"):
                s.flush()
                try:
                    got = s.readline()
                    raise AssertionError("expected the connection to close, got %r" % got)
                except (EOFError, ConnectionResetError):
                    pass
            elif line.startswith("<"):
                s.flush()
                parts = line[1:].strip().split(None, 1)
                code = parts[0]
                pattern = parts[1] if len(parts) > 1 else None
                lines = s.reply()
                got = lines[-1][:3]
                if not all(c == "x" or c == g for c, g in zip(code, got)) or len(got) != 3:
                    raise AssertionError("expected %s, got %r" % (code, lines))
                if pattern and not re.search(pattern, "\n".join(lines)):
                    raise AssertionError("reply %r does not match /%s/" % (lines, pattern))
            elif line == "starttls":
                s.flush()
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s.sock = ctx.wrap_socket(s.sock)
            elif line.startswith("sleep "):
                s.flush()
                time.sleep(float(line[6:]))
            else:
                raise AssertionError("bad script line")
        except (AssertionError, EOFError, OSError) as e:
            sys.stderr.write("smtpscript: line %d (%s): %s\n" % (no, line, e))
            sys.exit(1)
    s.flush()


if __name__ == "__main__":
    main()
