#!/usr/bin/env python3
"""A counting HTTP/1.1 reverse proxy, to measure S3 requests at the server side.

    count-proxy.py LISTEN_PORT UPSTREAM_URL LOGFILE

Listens on 127.0.0.1:LISTEN_PORT and forwards every request, unchanged, to
UPSTREAM_URL (http://host:port of an S3 server such as moto). For each request
it appends one line to LOGFILE:

    METHOD PATH BYTES_IN BYTES_OUT STATUS

BYTES_IN is the request body and BYTES_OUT the response body, in bytes
(decoded, without chunk framing or headers). The first four fields are the
contract; STATUS is extra. Truncate or rotate LOGFILE between measured steps.

The request line and the headers, Host included, are passed through as they
came, so SigV4 signatures still verify upstream. Only hop-by-hop headers
(Connection, Keep-Alive, Proxy-*) and `Expect: 100-continue` (answered here;
not part of a SigV4 signature) are left out. Bodies are streamed both ways,
with Content-Length or chunked framing. Client connections are kept alive,
each with its own upstream connection.

With COUNT_PROXY_GCS_XML_PUT=1 in its environment it also turns plain
XML-API uploads (PUT /BUCKET/OBJECT without uploadType) into the signed-URL
form fake-gcs-server accepts (an X-Goog-Algorithm query parameter): the
emulator implements every other XML call object_store makes (list, get,
head, delete), but stores a plain PUT only when it carries that marker,
and it answers such an upload with the object's JSON but no ETag header,
which object_store requires: the proxy copies the JSON's etag into one.
scripts/gcs-server.sh uses this; nothing else changes.

Python standard library only.
"""
import json
import os
import http.client
import http.server
import socket
import sys
import threading
import urllib.parse

BUF = 1 << 20
HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
       "proxy-authorization", "te", "trailer", "upgrade", "expect"}


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, line):
        with self.lock:
            self.f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None     # (host, port), set in main
    log = None
    upstream_timeout = 600

    def log_message(self, fmt, *args):  # quiet: the count log is the output
        pass

    def _conn(self):
        c = getattr(self, "_up", None)
        if c is None:
            c = http.client.HTTPConnection(*self.upstream, timeout=self.upstream_timeout)
            self._up = c
        return c

    def _drop_conn(self):
        c = getattr(self, "_up", None)
        if c is not None:
            c.close()
        self._up = None

    def _send_request_body(self, up):
        """Stream the client's body upstream; return the decoded byte count."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        n = 0
        if "chunked" in te:
            # Pass the chunk framing through verbatim (aws-chunked bodies and
            # their signatures ride inside it), counting only the data.
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("client closed inside a chunked body")
                up.send(line)
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while True:  # trailers, then the empty line
                        t = self.rfile.readline(65537)
                        up.send(t)
                        if t in (b"\r\n", b"\n", b""):
                            return n
                left = size
                while left:
                    b = self.rfile.read(min(BUF, left))
                    if not b:
                        raise ConnectionError("client closed inside a chunk")
                    up.send(b)
                    left -= len(b)
                    n += len(b)
                up.send(self.rfile.readline(3))  # CRLF after the chunk
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            b = self.rfile.read(min(BUF, left))
            if not b:
                raise ConnectionError("client closed inside the body")
            up.send(b)
            left -= len(b)
            n += len(b)
        return n

    gcs_xml_put = os.environ.get("COUNT_PROXY_GCS_XML_PUT") == "1"

    def _target(self):
        """The request target to send upstream (see the module doc)."""
        path = self.path
        if self.gcs_xml_put and self.command == "PUT":
            q = urllib.parse.urlsplit(path).query
            if "uploadType=" not in q and "X-Goog-Algorithm=" not in q:
                path += ("&" if q else "?") + "X-Goog-Algorithm=GOOG4-RSA-SHA256"
        return path

    def _proxy(self):
        method = self.command
        n_in = n_out = 0
        status = 0
        try:
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            bodiless = "chunked" not in te and int(self.headers.get("Content-Length") or 0) == 0
            for attempt in (0, 1):
                up = self._conn()
                try:
                    up.putrequest(method, self._target(), skip_host=True,
                                  skip_accept_encoding=True)
                    for k, v in self.headers.items():
                        if k.lower() not in HOP:
                            up.putheader(k, v)
                    up.endheaders()
                    n_in = self._send_request_body(up)
                    resp = up.getresponse()
                    break
                except (ConnectionError, OSError, http.client.HTTPException):
                    # A keep-alive upstream socket that went stale: retry
                    # once when nothing of a body has been consumed.
                    self._drop_conn()
                    if attempt or not bodiless:
                        raise
            status = resp.status
            if self._target() != self.path and resp.status == 200 and not resp.getheader("ETag"):
                body = resp.read()
                etag = json.loads(body or b"{}").get("etag", "")
                self.send_response_only(resp.status, resp.reason)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", f'"{etag}"')
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                n_out = len(body)
                if resp.will_close:
                    self._drop_conn()
                return
            self.send_response_only(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            chunked = resp.chunked
            has_body = method != "HEAD" and resp.status not in (204, 304) and resp.status >= 200
            for k, v in resp.getheaders():
                if k.lower() in HOP or k.lower() == "transfer-encoding":
                    continue
                self.send_header(k, v)
            close_after = False
            if has_body and length is None:
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    close_after = True  # body runs until upstream closes
            if close_after or self.close_connection:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if has_body:
                while True:
                    b = resp.read1(BUF) if (chunked or length is None) else resp.read(BUF)
                    if not b:
                        break
                    n_out += len(b)
                    if chunked and length is None:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                    else:
                        self.wfile.write(b)
                if chunked and length is None:
                    self.wfile.write(b"0\r\n\r\n")
            else:
                resp.read()
            self.wfile.flush()
            if resp.will_close:
                self._drop_conn()
        except (ConnectionError, socket.timeout, OSError, http.client.HTTPException) as e:
            self._drop_conn()
            self.close_connection = True
            if status == 0:
                status = 502
                try:
                    msg = f"count-proxy: upstream error: {e}\n".encode()
                    self.send_response_only(502)
                    self.send_header("Content-Length", str(len(msg)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(msg)
                except OSError:
                    pass
            else:
                status = -status  # the response was cut short
        finally:
            self.log.write(f"{method} {self.path} {n_in} {n_out} {status}")

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _proxy

    def finish(self):
        super().finish()
        self._drop_conn()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    port = int(argv[1])
    u = urllib.parse.urlsplit(argv[2])
    if u.scheme != "http" or not u.hostname:
        print(f"count-proxy: UPSTREAM_URL must be http://host[:port], not {argv[2]}", file=sys.stderr)
        return 2
    Handler.upstream = (u.hostname, u.port or 80)
    Handler.log = Log(argv[3])
    srv = Server(("127.0.0.1", port), Handler)
    print(f"count-proxy: 127.0.0.1:{port} -> {u.hostname}:{u.port or 80}, log {argv[3]}",
          file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
