"""The Python side of test/interop/auth-clients.test.ts, run with /usr/bin/python3 and
PYTHONPATH=clients/python. With the token in CTM_TOKEN (or without it) and optionally TLS
files, it tries Set, Get and Watch on one key and prints what each did as one JSON object;
the test decides what is right.

    auth_check.py --addr A --key K [--ca ca.pem] [--cert client.pem --cert-key client-key.pem]

Output: {"token": bool, "set": R, "get": R, "watch": R}, R being {"ok": true, "result": ...}
or {"ok": false, "code": "UNAUTHENTICATED", "details": "..."}. The watch starts at the first
Set's revision (a replayed event), then a second Set is made while the stream is open (a
live event), and it reports both events.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Dict, Optional

from ctm.client import Client, CtmError, Entry


def attempt(f: Callable[[], Any]) -> Dict[str, Any]:
    try:
        return {"ok": True, "result": f()}
    except CtmError as e:
        return {"ok": False, "code": e.code.name, "details": e.details}


def read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def event(e: Entry) -> Dict[str, Any]:
    return {"key": e.key, "revision": e.revision, "version": e.version, "value": e.value, "principal": e.principal}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--cert-key")
    a = ap.parse_args()
    token = os.environ.get("CTM_TOKEN")
    out: Dict[str, Any] = {"token": bool(token)}
    with Client(
        a.addr,
        timeout=20,
        token=token,
        root_certificates=read(a.ca),
        certificate_chain=read(a.cert),
        private_key=read(a.cert_key),
    ) as c:
        out["set"] = attempt(lambda: event(c.set(a.key, {"n": 1}, author="python")))
        out["get"] = attempt(lambda: c.get(a.key).value)

        def watch() -> Any:
            start = out["set"]["result"]["revision"] if out["set"]["ok"] else 1
            # max_retry_time: a watch that keeps failing raises instead of reconnecting forever.
            it = c.watch(a.key, start_revision=start, max_retry_time=20)
            try:
                got = [event(next(it))]
                c.set(a.key, {"n": 2}, author="python")  # while the stream is open: a live event
                got.append(event(next(it)))
                return got
            finally:
                it.close()

        out["watch"] = attempt(watch)
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
