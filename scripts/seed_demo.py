#!/usr/bin/env python3
"""Seeds the demo customer through the public API, so that a newcomer opens a bank with a past.

On a demo customer without history: two accounts, about three months of activity (salary in,
rent and electricity out, card payments and cash, a monthly saving, money to and from a friend),
a standing order for the rent, a direct-debit mandate for the electricity, a small loan paid out
and being repaid, and notifications of which the older ones are read. Safe to run again: a
customer who has history keeps it. With --more, another customer is made with a history of
their own (their credentials are printed).

Everything goes through the API (never the tables). The past is booked with the ledger's
back-dating (`bookedAt`, administrators only, a sandbox's switch that production refuses:
docs/ledger.md), in time order; the standing order, the mandate and the loan are made now, as a
customer would make them. Money a member of staff moves out of a customer's account needs a
second member of staff (four eyes), so the seed makes a second administrator and sends each
such movement twice.
"""

import argparse
import datetime as dt
import json
import mailbox
import random
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid

AUTH = "accessToken user { id }"


def confirmation_token(mail_dir, email, timeout=30):
    """The token of the confirmation link e-mailed to `email`, from the mail catcher's Maildir."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = None
        for message in mailbox.Maildir(mail_dir, create=False):
            if email.lower() not in (message.get("To") or "").lower():
                continue
            body = (message.get_payload(decode=True) or b"").decode("utf-8", "replace")
            if "verify-email?token=" in body:
                found = body.split("verify-email?token=", 1)[1].split()[0]
        if found:
            return found
        time.sleep(0.2)
    sys.exit(f"seed: no confirmation e-mail to {email} in {mail_dir}")


class Api:
    def __init__(self, url, ca, mail_dir):
        self.url = url
        self.ctx = ssl.create_default_context(cafile=ca)
        self.mail_dir = mail_dir

    def call(self, query, variables=None, token=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for attempt in range(5):
            try:
                with urllib.request.urlopen(request, context=self.ctx, timeout=30) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as err:
                if err.code != 429 or attempt == 4:
                    raise
                time.sleep(1 + attempt)

    def data(self, query, variables=None, token=None, what="a call"):
        result = self.call(query, variables, token)
        if result.get("errors"):
            sys.exit(f"seed: {what} failed: {result['errors']}")
        return result["data"]

    def sign_in(self, email, password, full_name):
        """Logs in, or registers first. Returns (token, user id, new)."""
        result = self.call(f"mutation($i: LoginInput!) {{ login(input: $i) {{ {AUTH} }} }}",
                           {"i": {"email": email, "password": password}})
        if not result.get("errors"):
            login = result["data"]["login"]
            return login["accessToken"], login["user"]["id"], False
        self.data("mutation($i: RegisterInput!) { register(input: $i) { message } }",
                  {"i": {"email": email, "password": password, "fullName": full_name}},
                  what=f"registering {email}")
        # As a person would: the link from the e-mail the bank sent, and the password.
        token = confirmation_token(self.mail_dir, email)
        data = self.data(f"mutation($i: VerifyEmailInput!) {{ verifyEmail(input: $i) {{ {AUTH} }} }}",
                         {"i": {"token": token, "password": password}}, what=f"confirming {email}")
        return data["verifyEmail"]["accessToken"], data["verifyEmail"]["user"]["id"], True

    def accounts(self, token):
        return self.data("{ me { accounts { id number kind transactions(first: 1) { edges { node { id } } } } } }",
                         token=token, what="reading accounts")["me"]["accounts"]

    def open_accounts(self, token, kinds):
        opened = []
        for kind, nickname in kinds:
            data = self.data("mutation($i: OpenAccountInput!) { openAccount(input: $i) { id number kind } }",
                             {"i": {"kind": kind, "currency": "EUR", "nickname": nickname}},
                             token=token, what="opening an account")
            opened.append(data["openAccount"])
        # The ledger hears of new accounts through Kafka: wait until it has each one.
        for account in opened:
            deadline = time.time() + 30
            while "errors" in self.call("query($id: ID!) { account(id: $id) { balance { amount } } }",
                                        {"id": account["id"]}, token) and time.time() < deadline:
                time.sleep(0.2)
        return opened


class Staff:
    """The administrator and a second one made for the second pair of eyes (back-dating is
    for administrators only)."""

    def __init__(self, api, admin_email, admin_password):
        self.api = api
        self.admin = api.data(f"mutation($i: LoginInput!) {{ login(input: $i) {{ {AUTH} }} }}",
                              {"i": {"email": admin_email, "password": admin_password}},
                              what="the administrator's sign-in")["login"]["accessToken"]
        email = f"operator-{secrets.token_hex(4)}@bank.local"
        password = f"operator-{secrets.token_hex(8)}1"
        _, second_id, _ = api.sign_in(email, password, "Demo Operator")
        api.data("mutation($u: ID!, $r: [Role!]!) { setUserRoles(userId: $u, roles: $r) { id } }",
                 {"u": second_id, "r": ["ADMIN"]}, token=self.admin, what="making a second administrator")
        self.second, _, _ = api.sign_in(email, password, "Demo Operator")

    def book(self, mutation, input_type, fields, at, out_of_customer):
        """Books one movement at `at` (back-dated); twice, by two members of staff, when it
        takes money out of a customer's account."""
        variables = {"i": {**fields, "idempotencyKey": str(uuid.uuid4()),
                           "bookedAt": at.isoformat()}}
        query = f"mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ id }} }}"
        tokens = [self.admin, self.second] if out_of_customer else [self.admin]
        for token in tokens:
            result = self.api.call(query, variables, token)
            codes = [e.get("extensions", {}).get("code") for e in result.get("errors") or []]
            if codes and codes != ["SECOND_APPROVAL_REQUIRED"]:
                sys.exit(f"seed: {mutation} at {at:%Y-%m-%d} failed: {result['errors']}")


def history(today, rng, mandate):
    """About three months of a salaried customer's life, oldest first:
    (time, kind, counterpart, amount, description)."""
    start = today - dt.timedelta(days=92)
    events = [(start, "deposit", None, "1500.00", "Opening deposit")]
    cards = ["Card — Green Grocer", "Card — Café Aroma", "Card — Metro ticket",
             "Card — Corner Bookshop", "Card — Pharmacy", "Card — Bakery Brot & Co"]
    day = start + dt.timedelta(days=1)
    while day < today:
        at = day.replace(hour=rng.randint(8, 19), minute=rng.randint(0, 59))
        if day.day == 25:
            events.append((at.replace(hour=7), "deposit", None, "2850.00", "Salary — ACME Ltd"))
        if day.day == 1:
            events.append((at.replace(hour=6), "transfer", "landlord", "950.00",
                           "Rent — Oak Street Lettings (standing order)"))
        if day.day == 5:
            events.append((at.replace(hour=6), "transfer", "utility",
                           f"{rng.uniform(58, 82):.2f}", f"Electricity — City Power (direct debit {mandate})"))
        if day.day == 10:
            events.append((at.replace(hour=9), "transfer", "savings", "200.00", "Monthly saving"))
        if rng.random() < 0.4:
            events.append((at, "withdraw", None, f"{rng.uniform(3.5, 64):.2f}", rng.choice(cards)))
        if rng.random() < 0.05:
            events.append((at, "withdraw", None, f"{rng.choice([50, 80, 100])}.00", "Cash machine"))
        if rng.random() < 0.07:
            events.append((at, "transfer", "friend", f"{rng.uniform(12, 60):.2f}",
                           rng.choice(["Dinner, thanks!", "Concert tickets", "Half the taxi"])))
        if rng.random() < 0.04:
            events.append((at, "transfer-in", "friend", f"{rng.uniform(10, 40):.2f}",
                           rng.choice(["Your share of the groceries", "Birthday present, together"])))
        day += dt.timedelta(days=1)
    return sorted(events, key=lambda event: event[0])


def seed_history(api, staff, customer_token, email, rng):
    """Gives a customer without history their accounts, their past and their present."""
    accounts = api.accounts(customer_token)
    if any(a["transactions"]["edges"] for a in accounts):
        return None
    by_kind = {a["kind"]: a for a in accounts}
    missing = [(k, n) for k, n in (("CHECKING", "Everyday"), ("SAVINGS", "Rainy day")) if k not in by_kind]
    for account in api.open_accounts(customer_token, missing):
        by_kind[account["kind"]] = account
    checking, savings = by_kind["CHECKING"]["id"], by_kind["SAVINGS"]["id"]

    # The people and businesses on the other side: customers of this bank, for the demo.
    counterparts = {"savings": savings}
    for key, name in (("landlord", "Oak Street Lettings"), ("utility", "City Power"), ("friend", "Sam Demo")):
        token, _, _ = api.sign_in(f"{key}-{secrets.token_hex(4)}@bank.local", f"pw-{secrets.token_hex(8)}1", name)
        counterparts[key] = api.open_accounts(token, [("CHECKING", name)])[0]["id"]

    now = dt.datetime.now(dt.timezone.utc)
    mandate = f"CP-{secrets.token_hex(4).upper()}"
    events = history(now, rng, mandate)
    # The friend has money of their own to send.
    staff.book("deposit", "DepositInput", {"accountId": counterparts["friend"], "amount": "500.00",
                                           "description": "Opening deposit"}, events[0][0], False)
    for at, kind, other, amount, description in events:
        if kind == "deposit":
            staff.book("deposit", "DepositInput",
                       {"accountId": checking, "amount": amount, "description": description}, at, False)
        elif kind == "withdraw":
            staff.book("withdraw", "WithdrawInput",
                       {"accountId": checking, "amount": amount, "description": description}, at, True)
        elif kind == "transfer":
            staff.book("transfer", "TransferInput",
                       {"fromAccountId": checking, "toAccountId": counterparts[other], "amount": amount,
                        "description": description}, at, True)
        else:  # money in from the friend
            staff.book("transfer", "TransferInput",
                       {"fromAccountId": counterparts[other], "toAccountId": checking, "amount": amount,
                        "description": description}, at, True)

    # The present, as the customer makes it.
    first_of_next_month = (now.replace(day=1) + dt.timedelta(days=32)).replace(day=1).date()
    payee = api.data("mutation($i: AddPayeeInput!) { addPayee(input: $i) { id } }",
                     {"i": {"name": "Oak Street Lettings", "iban": "DE89370400440532013000"}},
                     token=customer_token, what="adding a payee")["addPayee"]["id"]
    api.data("mutation($i: CreateStandingOrderInput!) { createStandingOrder(input: $i) { id } }",
             {"i": {"fromAccountId": checking, "payeeId": payee, "amount": "950.00",
                    "remittance": "Rent", "frequency": "MONTHLY",
                    "startOn": first_of_next_month.isoformat(), "idempotencyKey": str(uuid.uuid4())}},
             token=customer_token, what="the rent's standing order")
    api.data("mutation($i: CreateMandateInput!) { createMandate(input: $i) { id } }",
             {"i": {"accountId": checking, "creditorId": "DE98ZZZ09999999999", "creditorName": "City Power",
                    "reference": mandate, "maxAmount": "150.00"}},
             token=customer_token, what="the electricity's mandate")

    # A small loan: applied for, approved and paid out by two members of staff, repaid once.
    loan = api.data("mutation($i: ApplyForLoanInput!) { applyForLoan(input: $i) { id } }",
                    {"i": {"productCode": "MICRO_EUR", "accountId": checking, "amount": "600",
                           "termMonths": 6, "purpose": "A new bike", "idempotencyKey": str(uuid.uuid4())}},
                    token=customer_token, what="applying for a loan")["applyForLoan"]["id"]
    for step in ("approveLoan", "disburseLoan"):
        for token in (staff.admin, staff.second):
            api.data(f"mutation($id: ID!) {{ {step}(id: $id) {{ status }} }}", {"id": loan},
                     token=token, what=step)
    # The older notifications are read: wait for the history's to arrive, then mark them.
    unread_query = "{ me { notifications(first: 1) { unreadCount } } }"
    expected = len(events)  # at least one posting on the customer's accounts each
    deadline = time.time() + 60
    while time.time() < deadline:
        unread = api.data(unread_query, token=customer_token)["me"]["notifications"]["unreadCount"]
        if unread >= expected:
            break
        time.sleep(0.5)
    api.data("mutation { markAllNotificationsRead }", token=customer_token, what="marking read")
    api.data("mutation($i: RepayLoanInput!) { repayLoan(input: $i) { status } }",
             {"i": {"loanId": loan, "amount": "100.00", "idempotencyKey": str(uuid.uuid4())}},
             token=customer_token, what="repaying the loan")
    return len(events)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--mail-dir", required=True, help="the mail catcher's Maildir (confirmation links)")
    parser.add_argument("--more", action="store_true",
                        help="also make another customer with a history of their own")
    parser.add_argument("--seed", type=int, default=None, help="random seed (the same history again)")
    args = parser.parse_args()
    api = Api(args.url, args.ca, args.mail_dir)
    rng = random.Random(args.seed)

    token, _, _ = api.sign_in(args.email, args.password, "Demo Customer")
    customers = [(args.email, args.password, token)]
    if args.more:
        email = f"demo-{secrets.token_hex(3)}@bank.local"
        password = f"demo-{secrets.token_hex(6)}1"
        more_token, _, _ = api.sign_in(email, password, "Demo Customer")
        customers.append((email, password, more_token))
    staff = None
    for email, password, customer_token in customers:
        if any(a["transactions"]["edges"] for a in api.accounts(customer_token)):
            numbers = ", ".join(a["number"] for a in api.accounts(customer_token))
            print(f"    \033[32mok\033[0m demo customer {email} with accounts {numbers} (history kept)")
            continue
        staff = staff or Staff(api, args.admin_email, args.admin_password)
        booked = seed_history(api, staff, customer_token, email, rng)
        numbers = ", ".join(a["number"] for a in api.accounts(customer_token))
        print(f"    \033[32mok\033[0m demo customer {email} with accounts {numbers}: "
              f"{booked} movements over three months, a standing order, a mandate, a loan")
        if email != args.email:
            print(f"       password {password}")


if __name__ == "__main__":
    main()
