#!/usr/bin/env python3
"""Seeds the demo customer through the public API (register or log in, then open two
accounts if they have none). Safe to run again."""

import argparse
import json
import ssl
import sys
import urllib.request


def call(url, ctx, query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, context=ctx, timeout=30) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    ctx = ssl.create_default_context(cafile=args.ca)

    auth_fields = "accessToken user { id }"
    result = call(args.url, ctx,
                  f"mutation($i: LoginInput!) {{ login(input: $i) {{ {auth_fields} }} }}",
                  {"i": {"email": args.email, "password": args.password}})
    if result.get("errors"):
        result = call(args.url, ctx,
                      f"mutation($i: RegisterInput!) {{ register(input: $i) {{ {auth_fields} }} }}",
                      {"i": {"email": args.email, "password": args.password, "fullName": "Demo Customer"}})
        if result.get("errors"):
            sys.exit(f"could not register the demo customer: {result['errors']}")
        token = result["data"]["register"]["accessToken"]
    else:
        token = result["data"]["login"]["accessToken"]

    me = call(args.url, ctx, "{ me { accounts { id number } } }", token=token)
    if me.get("errors"):
        sys.exit(f"could not read the demo customer's accounts: {me['errors']}")
    accounts = me["data"]["me"]["accounts"]
    if not accounts:
        for kind, nickname in (("CHECKING", "Everyday"), ("SAVINGS", "Rainy day")):
            opened = call(args.url, ctx,
                          "mutation($i: OpenAccountInput!) { openAccount(input: $i) { id number } }",
                          {"i": {"kind": kind, "currency": "EUR", "nickname": nickname}}, token=token)
            if opened.get("errors"):
                sys.exit(f"could not open a demo account: {opened['errors']}")
            accounts.append(opened["data"]["openAccount"])
    numbers = ", ".join(a["number"] for a in accounts)
    print(f"    \033[32mok\033[0m demo customer {args.email} with accounts {numbers}")


if __name__ == "__main__":
    main()
