"""Shared helpers of the SDK conformance flows.

Every cloud call goes through an official SDK client. After each call the raw JSON body the
SDK received is compared with what the SDK model parsed: every key must be one the model
knows (exact casing) and every value must have the model's declared type, so a misspelt key
or a wrong type in the simulator fails the test instead of being silently dropped.
"""

import inspect
import json
import os
import sys
import time
import traceback
import urllib.request

from darabonba.model import DaraModel

ENDPOINT = os.environ["SIM_ENDPOINT"]  # host:port
ADMIN = f"http://{ENDPOINT}/_sim"
AK_ID = os.environ.get("SIM_ACCESS_KEY_ID", "LTAI5tSimulatorLocal0001")
AK_SECRET = os.environ.get("SIM_ACCESS_KEY_SECRET", "SimLocalSecret0001NotARealKey0")

# Documented type drift (docs/cloud-apis.md#dts-wire-quirks): string-typed
# Success/HttpStatusCode arrive as JSON booleans/integers, exactly as the service's own examples
# show.
DRIFT = {"success", "http_status_code"}


class Flow:
    """Counts checks and reports them in the `N passed, N failed` form CI reads."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.last_raw = None

    def spy(self, client):
        """Wraps `client.call_api` to keep the raw body of the last response."""
        original = client.call_api

        def call_api(params, request, runtime):
            result = original(params, request, runtime)
            self.last_raw = result.get("body") if isinstance(result, dict) else None
            return result

        client.call_api = call_api
        return client

    def call(self, what, fn, *args, **kwargs):
        """Runs one SDK call; it must succeed and parse into the SDK model exactly."""
        try:
            self.last_raw = None
            resp = fn(*args, **kwargs)
            assert resp.status_code == 200, f"HTTP {resp.status_code}"
            check_model(resp.body, "body")
            if self.last_raw is not None:
                check_keys(self.last_raw, resp.body.to_map(), "body")
            self.ok(what)
            return resp.body
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the flow stops
            self.bad(what, e)
            raise

    def expect_error(self, what, code, fn, *args, **kwargs):
        """Runs one SDK call that must be refused with `code` (SDK exception)."""
        try:
            fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            got = getattr(e, "code", None)
            if got == code:
                self.ok(f"{what} -> {code}")
                return e
            self.bad(what, AssertionError(f"expected {code}, got {got}: {e}"))
            raise
        self.bad(what, AssertionError(f"expected {code}, the call succeeded"))
        raise AssertionError(what)

    def check(self, what, condition, detail=""):
        if condition:
            self.ok(what)
        else:
            self.bad(what, AssertionError(detail or "condition failed"))
            raise AssertionError(what)

    def ok(self, what):
        self.passed += 1
        print(f"  ok   {what}", flush=True)

    def bad(self, what, e):
        self.failed += 1
        print(f"  FAIL {what}: {e}", flush=True)

    def run(self, body):
        print(f"== {self.name}", flush=True)
        started = time.time()
        try:
            body(self)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            if self.failed == 0:
                self.failed = 1
        print(f"{self.name}: {self.passed} passed, {self.failed} failed ({time.time() - started:.1f} s)", flush=True)
        sys.exit(1 if self.failed else 0)


def check_model(model, path):
    """Every set attribute has the type declared in the model's constructor."""
    params = inspect.signature(type(model).__init__).parameters
    for name, p in params.items():
        if name == "self":
            continue
        value = getattr(model, name, None)
        if value is not None:
            check_value(value, str(p.annotation), f"{path}.{name}", name)


def check_value(value, ann, path, attr):
    ann = ann.strip()
    if ann.startswith("List["):
        assert isinstance(value, list), f"{path}: expected a list, got {type(value).__name__}"
        for i, v in enumerate(value):
            check_value(v, ann[5:-1], f"{path}[{i}]", attr)
    elif ann.startswith("Dict["):
        assert isinstance(value, dict), f"{path}: expected an object, got {type(value).__name__}"
    elif "main_models." in ann:
        assert isinstance(value, DaraModel), f"{path}: expected a model"
        check_model(value, path)
    elif ann == "str":
        if attr in DRIFT:
            assert isinstance(value, (str, bool, int)), f"{path}: bad type {type(value).__name__}"
        else:
            assert isinstance(value, str), f"{path}: expected str, got {type(value).__name__} {value!r}"
    elif ann == "int":
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: expected int, got {value!r}"
    elif ann == "float":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path}: expected float, got {value!r}"
    elif ann == "bool":
        assert isinstance(value, bool), f"{path}: expected bool, got {value!r}"


# Members every DTS business error carries (docs/cloud-apis.md#dts-wire-quirks), whether or not
# the operation's model declares them.
ERROR_KEYS = {"DynamicMessage", "DynamicCode", "HttpStatusCode"}


def check_keys(raw, parsed, path):
    """Every non-null key of the raw body is known to the model (exact casing)."""
    if isinstance(raw, dict):
        assert isinstance(parsed, dict), f"{path}: the model has no object here"
        business_error = raw.get("Success") is False
        for k, v in raw.items():
            if v is None or (business_error and k in ERROR_KEYS):
                continue
            assert k in parsed, f"{path}: key {k!r} is unknown to the SDK model"
            check_keys(v, parsed[k], f"{path}.{k}")
    elif isinstance(raw, list) and isinstance(parsed, list):
        for i, (r, p) in enumerate(zip(raw, parsed)):
            check_keys(r, p, f"{path}[{i}]")


def admin(method, path, body=None):
    """Calls the simulator's admin API (not a cloud API: plain HTTP is right here)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{ADMIN}{path}", data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def wait_until(what, fn, timeout=60.0, interval=0.25):
    """Polls `fn` until it returns a truthy value; fails after `timeout` real seconds."""
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
