#!/usr/bin/env python3
"""A stand-in payment gateway for the local stack, compose and the tests, with the interface
the payments service uses (subgraphs/payments/src/gateway.rs):

  POST /payments   {"paymentId", "amount", "currency", "creditorName", "creditorIban",
                    "remittance", "callbackUrl"} with an Idempotency-Key header.
                   202 {"reference"}: accepted; the same key again gets the same answer and
                   no second callback. 422 {"reason"}: rejected at once.
  POST /payments/<paymentId>/cancel
                   200 {"status": "CANCELLED"}: the gateway never took the payment and now never
                   will (a later submission with its key is refused); 409 {"status": "ACCEPTED",
                   "reference"}: it took it, and its callback says how it ends.
  then, after --delay seconds, a callback to callbackUrl:
                   {"eventId", "paymentId", "status": "SETTLED" | "REJECTED", "reason"},
                   signed X-Gateway-Signature: sha256=<HMAC-SHA256 of the body> with --secret.

It also stands in for creditors collecting direct debits from the bank's customers:

  POST /collections {"creditorId", "mandateReference", "amount", "currency", "remittance",
                     "collectionId" (optional: one is made up)}
                   sends {"type": "collection.requested", ...} to --bank-url, signed like a
                   callback, retrying while the bank answers 503, and answers with the bank's
                   answer: {"status": "COLLECTED", "directDebitId"} or
                   {"status": "REFUSED", "code", "reason"}.

What it does with a payment depends on its remittance text, so tests and demos can steer it:
  contains "REFUSE"  -> 422 at once (rejected without a callback)
  contains "REJECT"  -> accepted, then a REJECTED callback
  contains "FLAKY"   -> 503 for the first two attempts, then as usual
  contains "SLOW"    -> accepted at once, but answered only after --slow seconds (the
                        client's timeout runs out while the gateway has acted), then SETTLED
  contains "ACCEPT500" -> accepted, but answered 500 (the answer after acting is lost), then
                        SETTLED
  contains "STALL"   -> waits --slow seconds and answers 503 without taking the payment, unless
                        it was cancelled meanwhile (then 422)
  contains "LIMBO"   -> answers 500 without taking the payment, and 503 to its cancellation
  contains "NOCALLBACK" -> accepted, and its callback is lost (never sent)
  contains "TWICE"   -> accepted, then its SETTLED callback is delivered twice
  contains "REORDER" -> accepted, then REJECTED, then a stale SETTLED callback (out of order)
  otherwise          -> accepted, then a SETTLED callback
GET /stats answers {"submissions": [{"paymentId", "at"}]}: when each submission arrived (Unix
seconds). Every request is appended as a JSON line to --log. Listens on loopback unless --host says
otherwise."""

import argparse
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4091)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--slow", type=float, default=3.0,
                        help="seconds SLOW and STALL payments keep the client waiting")
    parser.add_argument("--log")
    parser.add_argument("--bank-url", default="http://127.0.0.1:4006/webhooks/gateway",
                        help="where collections are sent (the payments service's webhook)")
    args = parser.parse_args()

    lock = threading.Lock()
    accepted: dict[str, str] = {}
    cancelled: set[str] = set()
    limbo: set[str] = set()
    attempts: dict[str, int] = {}
    counter = [0]
    # When each submission arrived (GET /stats), so tests can tell whether the bank sent
    # several at once.
    arrivals: list[dict] = []

    def log(entry: dict) -> None:
        if args.log:
            with lock, open(args.log, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")

    def signed(url: str, body: bytes) -> urllib.request.Request:
        signature = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
        return urllib.request.Request(
            url, data=body, method="POST",
            headers={"Content-Type": "application/json", "X-Gateway-Signature": signature},
        )

    def collect(request: dict) -> tuple[int, dict]:
        with lock:
            counter[0] += 1
            generated = f"COL{counter[0]:08d}-{int(time.time() * 1000)}"
        message = {
            "type": "collection.requested",
            "collectionId": request.get("collectionId") or generated,
            "creditorId": request.get("creditorId"),
            "mandateReference": request.get("mandateReference"),
            "amount": request.get("amount"),
            "currency": request.get("currency"),
            "remittance": request.get("remittance"),
        }
        body = json.dumps(message).encode()
        for attempt in range(10):
            try:
                with urllib.request.urlopen(signed(args.bank_url, body), timeout=10) as response:
                    answer = json.loads(response.read() or b"{}")
                    log({"collection": message, "answer": answer})
                    return 200, answer
            except urllib.error.HTTPError as err:
                if err.code != 503:
                    reason = err.read().decode(errors="replace")
                    log({"collection": message, "error": err.code, "reason": reason})
                    return err.code, {"reason": reason}
            except OSError as err:  # the bank may be restarting: try again
                log({"collection": message, "error": str(err)})
            time.sleep(0.5 * (attempt + 1))
        return 504, {"reason": "the bank did not answer"}

    def callback(payment: dict, status: str, reason: str | None) -> None:
        time.sleep(args.delay)
        body = json.dumps({
            "eventId": f"evt-{payment['paymentId']}-{status}",
            "paymentId": payment["paymentId"],
            "status": status,
            "reason": reason,
        }).encode()
        request = signed(payment["callbackUrl"], body)
        for attempt in range(10):
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    log({"callback": payment["paymentId"], "status": status, "answer": response.status})
                    return
            except Exception as err:  # the service may be restarting: try again
                log({"callback": payment["paymentId"], "status": status, "error": str(err)})
                time.sleep(0.5 * (attempt + 1))

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", "0"))
            if self.path == "/collections" and length <= 65536:
                self.answer(*collect(json.loads(self.rfile.read(length) or b"{}")))
                return
            if self.path.startswith("/payments/") and self.path.endswith("/cancel"):
                key = self.path[len("/payments/"):-len("/cancel")]
                with lock:
                    if key in limbo:
                        answer = (503, {"reason": "temporarily unavailable"})
                    elif key in accepted:
                        answer = (409, {"status": "ACCEPTED", "reference": accepted[key]})
                    else:
                        cancelled.add(key)
                        answer = (200, {"status": "CANCELLED"})
                log({"cancel": key, "answer": answer[1]})
                self.answer(*answer)
                return
            if self.path != "/payments" or length > 65536:
                self.answer(404, {"reason": "not found"})
                return
            payment = json.loads(self.rfile.read(length) or b"{}")
            key = self.headers.get("Idempotency-Key") or payment.get("paymentId", "")
            with lock:
                arrivals.append({"paymentId": payment.get("paymentId"), "at": time.time()})
            remittance = payment.get("remittance") or ""
            log({"request": payment, "key": key})
            if "STALL" in remittance:
                time.sleep(args.slow)
            with lock:
                if key in cancelled:
                    self.answer(422, {"reason": "the payment was cancelled"})
                    return
                if key in accepted:
                    self.answer(202, {"reference": accepted[key]})
                    return
                attempts[key] = attempts.get(key, 0) + 1
                if "STALL" in remittance:
                    self.answer(503, {"reason": "temporarily unavailable"})
                    return
                if "LIMBO" in remittance:
                    limbo.add(key)
                    self.answer(500, {"reason": "internal error"})
                    return
                if "FLAKY" in remittance and attempts[key] <= 2:
                    self.answer(503, {"reason": "temporarily unavailable"})
                    return
                if "REFUSE" in remittance:
                    self.answer(422, {"reason": "creditor account closed"})
                    return
                counter[0] += 1
                reference = f"GW{counter[0]:08d}"
                accepted[key] = reference
            if "ACCEPT500" in remittance:
                self.answer(500, {"reason": "internal error"})
            else:
                if "SLOW" in remittance:
                    time.sleep(args.slow)
                try:
                    self.answer(202, {"reference": reference})
                except OSError:  # the client gave up waiting
                    pass
            if "NOCALLBACK" in remittance:
                log({"callback": payment["paymentId"], "lost": True})
                return
            if "REORDER" in remittance:
                outcomes = [("REJECTED", "creditor bank rejected the payment"), ("SETTLED", None)]
            elif "REJECT" in remittance:
                outcomes = [("REJECTED", "creditor bank rejected the payment")]
            elif "TWICE" in remittance:
                outcomes = [("SETTLED", None), ("SETTLED", None)]
            else:
                outcomes = [("SETTLED", None)]

            def send_all() -> None:
                for outcome in outcomes:
                    callback(payment, *outcome)

            threading.Thread(target=send_all, daemon=True).start()

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/stats":
                with lock:
                    self.answer(200, {"submissions": arrivals})
                return
            self.answer(404, {"reason": "not found"})

        def log_message(self, *_args) -> None:
            pass

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
