#!/usr/bin/env python3
"""A small CRDS-protocol HTTP server over a CRDS cache directory, for tests.

usage: crds_test_server.py ROOT [--observatory jwst] [--context NAME] [--port 0]
                           [--mode normal|garbage|corrupt|truncated|rpc-error|encoded|flaky]
                           [--delay SECONDS] [--log FILE]

--delay slows reference downloads (not mappings), to widen race windows.

ROOT is laid out like a CRDS cache: mappings/<obs>/, references/<obs>/[<instrument>/],
config/<obs>/server_config (optional).  The server listens on 127.0.0.1 (port 0 = any free
port) and prints the port number on the first line of stdout.

Protocol (as CRDS's): JSON-RPC 1.0 POSTs to /json/ (get_default_context, get_server_info,
get_mapping_names, get_file_info, list_mappings, list_references), and plain GETs of
/unchecked_get/{mappings,references}/<obs>/<name>.

Modes for failure tests: garbage (every answer is an HTML page), corrupt (downloads have one
byte changed), truncated (downloads are cut in half), rpc-error (every call returns a JSON-RPC
error), flaky (every other request gets HTTP 503), encoded (results sent crds_encoded:
base64 of gzipped JSON, as CRDS servers do for large answers).  --log appends one line per request ("RPC method" or "GET path").
"""
import argparse
import ast
import base64
import gzip
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAPPING_RE = re.compile(r"['\"]([A-Za-z0-9_.\-]+\.(?:imap|rmap|pmap))['\"]")


class CrdsTestServer:
    def __init__(self, root, observatory="jwst", context=None, mode="normal", delay=0.0,
                 log=None):
        self.root = root
        self.obs = observatory
        self.context = context
        self.mode = mode
        self.delay = delay
        self.log_path = log
        self.log_lock = threading.Lock()
        self.requests = 0

    def flaky_fail(self):
        """In flaky mode, every other request fails."""
        with self.log_lock:
            self.requests += 1
            return self.mode == "flaky" and self.requests % 2 == 1

    # ------------------------------------------------------------------ files
    def mapping_dir(self):
        return os.path.join(self.root, "mappings", self.obs)

    def reference_path(self, name):
        base = os.path.join(self.root, "references", self.obs)
        flat = os.path.join(base, name)
        if os.path.isfile(flat):
            return flat
        parts = name.split("_")
        if len(parts) > 2:
            nested = os.path.join(base, parts[1].lower(), name)
            if os.path.isfile(nested):
                return nested
        return None

    def file_path(self, name):
        if name.endswith((".pmap", ".imap", ".rmap")):
            path = os.path.join(self.mapping_dir(), name)
            return path if os.path.isfile(path) else None
        return self.reference_path(name)

    def server_config(self):
        path = os.path.join(self.root, "config", self.obs, "server_config")
        if not os.path.isfile(path):
            return {}
        with open(path) as f:
            text = f.read()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return json.loads(text)

    def default_context(self):
        if self.context:
            return self.context
        ctx = self.server_config().get("operational_context")
        if ctx:
            return ctx
        pmaps = sorted(n for n in os.listdir(self.mapping_dir()) if n.endswith(".pmap"))
        if not pmaps:
            raise LookupError("no .pmap in " + self.mapping_dir())
        return pmaps[-1]

    def mapping_closure(self, context):
        seen, todo = [], [context]
        while todo:
            name = todo.pop(0)
            if name in seen:
                continue
            path = os.path.join(self.mapping_dir(), name)
            if not os.path.isfile(path):
                raise LookupError("Unknown mapping " + repr(name))
            seen.append(name)
            with open(path) as f:
                text = f.read()
            for child in MAPPING_RE.findall(text.split("selector", 1)[-1]):
                if child not in seen:
                    todo.append(child)
        return seen

    # ------------------------------------------------------------------ RPC
    def rpc(self, method, params):
        if method == "get_default_context":
            return self.default_context()
        if method == "get_server_info":
            info = dict(self.server_config())
            info.setdefault("operational_context", self.default_context())
            info["observatory"] = self.obs
            info["mapping_url"] = {self.obs: "/unchecked_get/mappings/%s/" % self.obs}
            info["reference_url"] = {self.obs: "/unchecked_get/references/%s/" % self.obs}
            info["connected"] = True
            return info
        if method == "get_mapping_names":
            return self.mapping_closure(params[0])
        if method == "get_file_info":
            name = params[1]
            path = self.file_path(name)
            if path is None:
                raise LookupError("File " + repr(name) + " is not known to CRDS")
            with open(path, "rb") as f:
                data = f.read()
            return {"name": name, "size": str(len(data)),
                    "sha1sum": hashlib.sha1(data).hexdigest(), "state": "archived"}
        if method == "list_mappings":
            return sorted(os.listdir(self.mapping_dir()))
        if method == "list_references":
            base = os.path.join(self.root, "references", self.obs)
            out = []
            for _dir, _sub, files in os.walk(base):
                out.extend(files)
            return sorted(out)
        raise NotImplementedError("method " + repr(method) + " is not supported by the test server")

    def log(self, line):
        if not self.log_path:
            return
        with self.log_lock:
            with open(self.log_path, "a") as f:
                f.write(line + "\n")


def make_handler(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def send(self, code, body, ctype="application/json"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if not self.path.startswith("/json"):
                return self.send(404, b"not found", "text/plain")
            if server.mode == "garbage":
                server.log("RPC garbage")
                return self.send(200, b"<html><body>Service temporarily garbled</body></html>",
                                 "text/html")
            try:
                req = json.loads(raw)
                method, params, rid = req["method"], req.get("params", []), req.get("id")
            except (ValueError, KeyError, TypeError):
                return self.send(400, b"bad request", "text/plain")
            server.log("RPC " + method)
            if server.flaky_fail():
                return self.send(503, b"busy", "text/plain")
            resp = {"jsonrpc": "1.0", "id": rid, "error": None, "result": None}
            try:
                if server.mode == "rpc-error":
                    raise RuntimeError("test server configured to fail every call")
                resp["result"] = server.rpc(method, params)
                if server.mode == "encoded":
                    payload = base64.b64encode(gzip.compress(json.dumps(resp["result"]).encode()))
                    resp["result"] = {"crds_encoded": "1.0", "crds_payload": payload.decode()}
            except Exception as exc:  # reported to the client as CRDS does
                resp["error"] = {"name": type(exc).__name__, "code": 500, "data": None,
                                 "message": str(exc)}
            self.send(200, json.dumps(resp).encode())

        def do_GET(self):
            prefix = "/unchecked_get/"
            if not self.path.startswith(prefix):
                return self.send(404, b"not found", "text/plain")
            parts = self.path[len(prefix):].split("/")
            if len(parts) != 3 or parts[0] not in ("mappings", "references") or parts[1] != server.obs:
                return self.send(404, b"not found", "text/plain")
            server.log("GET " + parts[2])
            if server.flaky_fail():
                return self.send(503, b"busy", "text/plain")
            if server.mode == "garbage":
                return self.send(200, b"<html>garbage</html>", "text/html")
            path = server.file_path(parts[2])
            if path is None:
                return self.send(404, b"not found", "text/plain")
            with open(path, "rb") as f:
                data = f.read()
            if server.delay and parts[0] == "references":
                time.sleep(server.delay)
            if server.mode == "corrupt" and data:
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            elif server.mode == "truncated":
                data = data[: len(data) // 2]
            self.send(200, data, "application/octet-stream")

    return Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--observatory", default="jwst")
    ap.add_argument("--context", default=None)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="normal",
                    choices=["normal", "garbage", "corrupt", "truncated", "rpc-error", "encoded",
                             "flaky"])
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--log", default=None)
    args = ap.parse_args(argv)
    state = CrdsTestServer(args.root, args.observatory, args.context, args.mode, args.delay,
                           args.log)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    httpd.daemon_threads = True
    print(httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    sys.exit(main())
