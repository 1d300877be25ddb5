"""Bot API methods about the bot itself, its updates, commands and chats."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .delivery import WebhookConfig
from .errors import bad_request
from .registry import api_method

if TYPE_CHECKING:
    from .core import Core
    from .state import ChatState

SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": False,
    "can_pin_messages": True,
}


@api_method("getMe")
async def get_me(core: Core, params: dict[str, Any]) -> Any:
    return {
        **core.world.bot,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@api_method("logOut", "close", "setChatMenuButton", "setMyDefaultAdministratorRights")
async def accept(core: Core, params: dict[str, Any]) -> bool:
    return True


@api_method("getUpdates")
async def get_updates(core: Core, params: dict[str, Any]) -> Any:
    return await core.hub.get_updates(
        params.get("offset"),
        params.get("limit"),
        params.get("timeout"),
        params.get("allowed_updates"),
    )


@api_method("setWebhook")
async def set_webhook(core: Core, params: dict[str, Any]) -> bool:
    url = str(params.get("url") or "")
    drop = bool(params.get("drop_pending_updates"))
    if not url:
        await core.hub.delete_webhook(drop_pending=drop)
        return True
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    max_connections = params.get("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    secret = params.get("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    allowed = params.get("allowed_updates")
    config = WebhookConfig(
        url, secret, max_connections, allowed if isinstance(allowed, list) else None
    )
    await core.hub.set_webhook(config, drop_pending=drop, allowed=allowed)
    return True


@api_method("deleteWebhook")
async def delete_webhook(core: Core, params: dict[str, Any]) -> bool:
    await core.hub.delete_webhook(drop_pending=bool(params.get("drop_pending_updates")))
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(core: Core, params: dict[str, Any]) -> Any:
    return core.hub.webhook_info()


def scope_key(scope: Any, language: Any) -> tuple[str, str]:
    """('chat:-100123', 'en')-style key of a BotCommandScope and language_code."""
    scope = scope or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    key = str(scope["type"])
    if key in ("chat", "chat_administrators", "chat_member"):
        if scope.get("chat_id") is None:
            raise bad_request("chat_id is empty")
        key += f":{scope['chat_id']}"
    if key.startswith("chat_member"):
        if scope.get("user_id") is None:
            raise bad_request("user_id is empty")
        key += f":{scope['user_id']}"
    language = str(language or "")
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return key, language


@api_method("setMyCommands")
async def set_my_commands(core: Core, params: dict[str, Any]) -> bool:
    commands = params.get("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    cleaned = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = str(item.get("command") or "").removeprefix("/")
        description = str(item.get("description") or "")
        if not _COMMAND_RE.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": command, "description": description})
    key = scope_key(params.get("scope"), params.get("language_code"))
    if cleaned:
        core.world.commands[key] = cleaned
    else:
        core.world.commands.pop(key, None)
    return True


@api_method("getMyCommands")
async def get_my_commands(core: Core, params: dict[str, Any]) -> Any:
    key = scope_key(params.get("scope"), params.get("language_code"))
    return core.world.commands.get(key, [])


@api_method("deleteMyCommands")
async def delete_my_commands(core: Core, params: dict[str, Any]) -> bool:
    core.world.commands.pop(scope_key(params.get("scope"), params.get("language_code")), None)
    return True


def _bot_text(name: str, field: str, limit: int) -> tuple[Any, Any]:
    async def setter(core: Core, params: dict[str, Any]) -> bool:
        value = str(params.get(field) or "")
        if len(value) > limit:
            raise bad_request(f"{field} is too long")
        core.world.bot_texts[(name, str(params.get("language_code") or ""))] = value
        return True

    async def getter(core: Core, params: dict[str, Any]) -> Any:
        value = core.world.bot_texts.get((name, str(params.get("language_code") or "")), "")
        return {field: value}

    return setter, getter


for _name, _field, _limit in (
    ("Description", "description", 512),
    ("ShortDescription", "short_description", 120),
    ("Name", "name", 64),
):
    _setter, _getter = _bot_text(_name, _field, _limit)
    api_method(f"setMy{_name}")(_setter)
    api_method(f"getMy{_name}")(_getter)


@api_method("getChat")
async def get_chat(core: Core, params: dict[str, Any]) -> Any:
    chat = core.world.chat(params.get("chat_id"))
    return {
        **chat.info,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def member_json(core: Core, chat: ChatState, user_id: int) -> dict[str, Any]:
    if user_id == core.bot_id:
        status = "administrator" if user_id in chat.admins else "member"
    else:
        status = chat.role(user_id)
    user = core.world.user_json(user_id)
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
    return {"status": status, "user": user}


@api_method("getChatMember")
async def get_chat_member(core: Core, params: dict[str, Any]) -> Any:
    chat = core.world.chat(params.get("chat_id"))
    user_id = params.get("user_id")
    if not isinstance(user_id, int):
        raise bad_request("user_id is empty")
    known = user_id in core.world.users or user_id == core.bot_id
    if not known and chat.role(user_id) == "left":
        raise bad_request("user not found")
    return member_json(core, chat, user_id)


@api_method("getChatAdministrators")
async def get_chat_administrators(core: Core, params: dict[str, Any]) -> Any:
    chat = core.world.chat(params.get("chat_id"))
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    ids = ([chat.creator] if chat.creator is not None else []) + sorted(chat.admins)
    return [member_json(core, chat, user_id) for user_id in dict.fromkeys(ids)]


@api_method("getChatMemberCount")
async def get_chat_member_count(core: Core, params: dict[str, Any]) -> int:
    chat = core.world.chat(params.get("chat_id"))
    if chat.type == "private":
        return 2
    people = chat.members | chat.admins | ({chat.creator} if chat.creator else set())
    return len(people - {core.bot_id}) + 1
