"""One pacer for every outgoing Bot API call: Telegram's flood limits, kept on our side.

Installed once per bot as an aiogram request middleware (``bot.session.middleware(pacer)``),
so handlers' ``message.answer(...)`` goes through it as well as the stream renderer.

Policy
------
* Kinds. *Counted sends* (sendMessage, sendRichMessage, sendPhoto, sendDocument,
  sendMediaGroup, sendInvoice, copyMessage, forwardMessage, editMessageText/Caption/ReplyMarkup)
  spend the chat's message budget, the group budget (chat_id < 0) and the global budget.
  *Drafts* (sendMessageDraft, sendRichMessageDraft) spend only their own per-chat budget.
  *Free* calls (getUpdates, getMe, answerCallbackQuery, deleteMessage, ...) are not paced.
  sendChatAction is free, but skipped (answered ``True`` without a call) while its chat is
  blocked by a 429: a typing indicator is cosmetic.
* Budgets (defaults, all overridable): per chat a token bucket of 1 message/s with a burst of 3,
  per group at most 20 per 60 s, globally at most 30 per second, drafts 4/s with a burst of 2.
  ``margin`` (0.1) is added to every window and the drafts' refill interval, in seconds, and
  to the chat's message interval as a share (10 %), so that network jitter between our clock
  and Telegram's never lands a call a hair too early.
  A media group counts as one message. Only integer chat ids get per-chat budgets;
  ``@username`` targets and calls without a chat id still spend the global budget when they
  send messages.
* Priority. A counted send or draft made inside ``with pacer.droppable(max_wait=...)``
  (intermediate streaming updates) is dropped with `PacingDropped`, before reaching Telegram
  and without spending budget, when it would have to wait longer than ``max_wait`` (default 0)
  or while a final call for the same chat (or, for counted sends, a final call held by the
  global budget) is waiting, or at once when the block's ``abandon`` event is set while it
  waits (the view sets it when the answer is ready). Every other call is final: it waits for
  its slot; final calls for one chat are served FIFO (messages and drafts in separate
  queues). The mark is a ContextVar: it flows through ``await bot.send_...(...)``, and into
  tasks created inside the block.
* 429. ``TelegramRetryAfter`` blocks the chat (every chat when the call had no integer chat
  id) until ``now + retry_after``. No call for a blocked chat leaves the pacer before the
  block ends (free calls that name the chat wait too). A final call then retries, at the head
  of its chat's queue, up to ``max_attempts`` calls in all, then re-raises; a droppable
  call raises `PacingDropped`.
* Memory. A chat's state is evicted once it has been idle for ``idle_ttl`` seconds with full
  buckets, an empty group window, no block, and nobody waiting.

Use::

    pacer = Pacer()
    bot.session.middleware(pacer)
    with pacer.droppable(max_wait=0.5):
        await bot.send_message_draft(chat_id, draft_id, text=partial)  # may raise PacingDropped
    await bot.send_message(chat_id, final_text)  # waits for its slot, retries 429s

Waiting is ``await sleep(...)`` on the injected clock; the pacer is safe for concurrent use
within one event loop.
"""

from .pacer import Pacer, PacerStats, PacingDropped, held_back, is_droppable
from .retry import DeliveryRetry, is_transient, retry_for

__all__ = [
    "DeliveryRetry",
    "Pacer",
    "PacerStats",
    "PacingDropped",
    "held_back",
    "is_droppable",
    "is_transient",
    "retry_for",
]
