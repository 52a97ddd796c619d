"""``emulator iam ...``: users and policies from the command line (same store as the IAM API).

    emulator iam create-user alice
    emulator iam put-user-policy alice read-orders policy.json
    emulator iam attach-user-policy alice arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess
    emulator keys create --user alice          # then sign with the printed key
    emulator iam set-key-status AKIA... Inactive

A running server picks the changes up within a second.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emulator.errors import AwsError


def _document(value: str) -> str:
    """A policy given inline as JSON, or as a path to a JSON file."""
    text = value.strip()
    if not text.startswith("{"):
        text = Path(value).read_text(encoding="utf-8")
    return text


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="iam_command", required=True)
    c = sub.add_parser("create-user", help="create an IAM user")
    c.add_argument("iam_user")
    sub.add_parser("list-users", help="list IAM users")
    d = sub.add_parser("delete-user", help="delete an IAM user (its keys and policies first)")
    d.add_argument("iam_user")
    pp = sub.add_parser("put-user-policy", help="set an inline policy (JSON or a file)")
    pp.add_argument("iam_user")
    pp.add_argument("policy_name")
    pp.add_argument("document")
    dp = sub.add_parser("delete-user-policy", help="delete an inline policy")
    dp.add_argument("iam_user")
    dp.add_argument("policy_name")
    cp = sub.add_parser("create-policy", help="create a managed policy (JSON or a file)")
    cp.add_argument("policy_name")
    cp.add_argument("document")
    sub.add_parser("list-policies", help="list managed policies")
    ap = sub.add_parser("attach-user-policy", help="attach a managed policy to a user")
    ap.add_argument("iam_user")
    ap.add_argument("policy_arn")
    tp = sub.add_parser("detach-user-policy", help="detach a managed policy from a user")
    tp.add_argument("iam_user")
    tp.add_argument("policy_arn")
    ks = sub.add_parser("set-key-status", help="activate or deactivate an access key")
    ks.add_argument("key_id")
    ks.add_argument("status", choices=("Active", "Inactive"))
    from emulator.cli import _add_common

    for parser in sub.choices.values():
        _add_common(parser, nested=True)


def run(args: argparse.Namespace) -> int:
    from emulator.cli import _settings_from
    from emulator.gateway.iam_store import IamStore
    from emulator.gateway.keys import KeyStore

    settings = _settings_from(argparse.Namespace(**{k: v for k, v in vars(args).items() if k in ("data_dir", "config_file", "command", "func")}))
    if args.iam_command in ("list-users", "list-policies"):
        from emulator.cli import data_dir_exists

        if not data_dir_exists(settings):  # a mistyped --data-dir: reported, not created
            return 1
    settings.ensure_dirs()
    store = IamStore(settings.data_dir, settings.account_id)
    cmd = args.iam_command
    try:
        if cmd == "create-user":
            print(json.dumps({k: v for k, v in store.create_user(args.iam_user).items() if k != "Tags"}))
        elif cmd == "list-users":
            for user in store.list_users():
                print(json.dumps({"UserName": user["UserName"], "Arn": user["Arn"], "UserId": user["UserId"]}))
        elif cmd == "delete-user":
            keys = KeyStore(settings.data_dir)
            store.delete_user(args.iam_user, any(k.user_name == args.iam_user for k in keys.list()))
            print(f"deleted {args.iam_user}")
        elif cmd == "put-user-policy":
            store.put_user_policy(args.iam_user, args.policy_name, _document(args.document))
            print(f"put {args.policy_name} on {args.iam_user}")
        elif cmd == "delete-user-policy":
            store.delete_user_policy(args.iam_user, args.policy_name)
            print(f"deleted {args.policy_name} from {args.iam_user}")
        elif cmd == "create-policy":
            print(json.dumps({"Arn": store.create_policy(args.policy_name, _document(args.document))["Arn"]}))
        elif cmd == "list-policies":
            for policy in store.list_policies():
                print(json.dumps({"PolicyName": policy["PolicyName"], "Arn": policy["Arn"], "AttachmentCount": policy["AttachmentCount"]}))
        elif cmd == "attach-user-policy":
            store.attach_user_policy(args.iam_user, args.policy_arn)
            print(f"attached {args.policy_arn} to {args.iam_user}")
        elif cmd == "detach-user-policy":
            store.detach_user_policy(args.iam_user, args.policy_arn)
            print(f"detached {args.policy_arn} from {args.iam_user}")
        elif cmd == "set-key-status":
            keys = KeyStore(settings.data_dir)
            if not keys.set_status(args.key_id, args.status):
                print(f"no such key: {args.key_id}", file=sys.stderr)
                return 1
            print(f"{args.key_id} is {args.status}")
    except AwsError as err:
        print(f"{err.code}: {err.message}", file=sys.stderr)
        return 1
    except OSError as err:
        print(str(err), file=sys.stderr)
        return 1
    return 0


def register() -> None:
    from emulator.cli import COMMANDS

    COMMANDS["iam"] = ("manage IAM users and policies (as the IAM API does)", configure, run)


register()
