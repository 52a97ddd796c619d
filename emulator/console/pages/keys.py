"""Keys and users: IAM users and their access keys (through the IAM operations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.console import html as h
from emulator.errors import AwsError
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console


def register(console: Console) -> None:
    @console.page("GET", "/keys")
    async def keys(c: Console, call: Call) -> Response:
        p = call.principal
        me = h.Markup(f'<section class="card"><h2>Signed in as</h2>{h.kv_table([("User", p.user_name), ("ARN", p.arn), ("Access key", p.access_key_id), ("Account", p.account_id)])}</section>')
        if not c.available("iam"):
            return c.html(call, "Keys & users", me + h.unavailable("iam"), active="keys")
        errors: list[str] = []
        users: list[dict[str, Any]] = []
        try:
            params: dict[str, Any] = {}
            for _ in range(20):
                res = await c.invoke(call, "iam", "ListUsers", params)
                users.extend(res.get("Users", []))
                if not res.get("IsTruncated"):
                    break
                params["Marker"] = res.get("Marker")
        except AwsError as err:
            errors.append(f"ListUsers: {err.code}: {err.message}")
        rows = []
        for user in users:
            name = user.get("UserName", "")
            try:
                meta = (await c.invoke(call, "iam", "ListAccessKeys", {"UserName": name})).get("AccessKeyMetadata", [])
            except AwsError as err:
                meta = []
                errors.append(f"ListAccessKeys {name}: {err.code}: {err.message}")
            key_cells = []
            for k in meta:
                kid, status = k.get("AccessKeyId", ""), k.get("Status", "")
                toggle = "Inactive" if status == "Active" else "Active"
                key_cells.append(
                    h.Markup(
                        f'<div class="key-row"><code>{h.esc(kid)}</code> {h.state_badge(status)} '
                        + h.post_button(h.url("/keys/update"), "Deactivate" if toggle == "Inactive" else "Activate", call.csrf, {"user": name, "key": kid, "status": toggle}, "small")
                        + h.post_button(h.url("/keys/delete"), "Delete", call.csrf, {"user": name, "key": kid}, "small danger", f"Delete key {kid}?")
                        + "</div>"
                    )
                )
            rows.append(
                (
                    name,
                    user.get("Arn", ""),
                    h.when(user.get("CreateDate")),
                    h.join(key_cells) or h.Markup('<span class="muted">no keys</span>'),
                    h.post_button(h.url("/keys/create-key"), "Create access key", call.csrf, {"user": name}, "small"),
                )
            )
        new_user = h.Markup(
            f'<section class="card"><h2>Create user</h2><form method="post" action="{h.esc(h.url("/keys/create-user"))}" class="row" id="create-user">'
            f'{h.csrf_field(call.csrf)}<label>User name<input name="user" required pattern="[\\w+=,.@-]{{1,64}}"></label>'
            '<button type="submit" class="primary">Create user</button></form></section>'
        )
        body = h.Markup(
            me
            + "".join(str(h.error_box(e)) for e in errors)
            + f'<section class="card"><h2>Users</h2>{h.table(["User", "ARN", "Created", "Access keys", ""], rows, "No IAM users yet.", cls="users")}</section>'
            + new_user
        )
        return c.html(call, "Keys & users", body, active="keys")

    @console.page("POST", "/keys/create-user")
    async def create_user(c: Console, call: Call) -> Response:
        await c.perform(call, "iam", "CreateUser", {"UserName": call.f("user")}, f"User {call.f('user')} created.")
        return c.redirect(h.url("/keys"))

    @console.page("POST", "/keys/create-key")
    async def create_key(c: Console, call: Call) -> Response:
        try:
            key = (await c.invoke(call, "iam", "CreateAccessKey", {"UserName": call.f("user")}))["AccessKey"]
            # AWS shows a secret exactly once, at creation: so does the console (it is not stored in the session).
            body = h.Markup(
                '<section class="card"><h2>New access key</h2><p>Copy the secret now: it will not be shown again.</p>'
                + h.kv_table([("User", key.get("UserName")), ("Access key ID", key.get("AccessKeyId")), ("Secret access key", h.Markup(f'<code id="new-secret">{h.esc(key.get("SecretAccessKey"))}</code>'))])
                + h.link("Back to keys", h.url("/keys"), "button")
                + "</section>"
            )
            return c.html(call, "New access key", body, active="keys")
        except AwsError as err:
            call.session.flash("error", f"{err.code}: {err.message}")
            return c.redirect(h.url("/keys"))

    @console.page("POST", "/keys/update")
    async def update_key(c: Console, call: Call) -> Response:
        params = {"UserName": call.f("user"), "AccessKeyId": call.f("key"), "Status": call.f("status")}
        await c.perform(call, "iam", "UpdateAccessKey", params, f"Key {call.f('key')} is now {call.f('status')}.")
        return c.redirect(h.url("/keys"))

    @console.page("POST", "/keys/delete")
    async def delete_key(c: Console, call: Call) -> Response:
        await c.perform(call, "iam", "DeleteAccessKey", {"UserName": call.f("user"), "AccessKeyId": call.f("key")}, f"Key {call.f('key')} deleted.")
        return c.redirect(h.url("/keys"))
