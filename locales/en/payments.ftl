## Plans, limits and payments (Telegram Stars)

command-limits = What is left of your limits
command-subscribe = Plans and prices
command-subinfo = Your plan and when it ends
command-paysupport = Help with a payment
command-terms = Terms of purchase

when-at = at { $time } ({ $span } from now)
duration-minutes = { $minutes } min
duration-hours-minutes = { $hours } h { $minutes } min
duration-days-hours = { $days } d { $hours } h

plans-none = This bot sells no plans: everything in it is free to use.
plans-header = ⭐ Plans, paid with Telegram Stars:
plans-header-money = ⭐ Plans, paid with Telegram Stars or by card:
plans-current = You are on: { $plan }. Passes add up; a subscription renews every 30 days until you cancel it.
plans-private-only = Plans are bought in a private chat with me: open @{ $bot } and send /subscribe.
plan-line-pass = { $title }: ⭐{ $price } for { $days } days
plan-line-subscription = { $title }: ⭐{ $price } a month, renews every 30 days
plan-button-pass = { $title } · ⭐{ $price } for { $days } days
plan-line-pass-both = { $title }: ⭐{ $price } or { $money } for { $days } days
plan-line-pass-money = { $title }: { $money } for { $days } days
plan-button-pass-money = { $title } · { $money } for { $days } days
plan-button-subscription = { $title } · ⭐{ $price } a month
plan-none = none
invoice-subscription = Subscribe to { $title } for ⭐{ $price } a month. You can cancel any time in Telegram's settings; the plan stays until the paid month ends.
invoice-subscription-button = Subscribe for ⭐{ $price } a month

pay-refused-invalid = This invoice is not valid for your account. Send /subscribe for a new one.
pay-refused-expired = This invoice has expired. Send /subscribe for a new one.
pay-refused-price = The price of this plan has changed. Send /subscribe for a new invoice.
pay-refused-unavailable = This plan is no longer offered. Send /subscribe to see the current plans.
pay-thanks-pass = Thank you! { $plan } is yours until { $until }.
pay-thanks-subscription = Thank you! You are subscribed to { $plan } until { $until }; it renews every 30 days.
pay-renewed = Your { $plan } subscription was renewed: it now runs until { $until }.
pay-unmatched = Your payment arrived, but I could not tell which plan it was for. Please write to /paysupport: we will sort it out or refund it.
pay-not-recorded = Your payment arrived, but I could not record it just now. It is logged with its payment id: if your plan does not show in /subinfo within a few minutes, write to /paysupport and it will be credited or refunded.
pay-already-subscribed = You are already subscribed to { $plan } (paid until { $until }); it renews by itself. /subinfo shows it.
refund-notice = { $amount } were refunded to you, and { $plan } bought with them was taken back. /subinfo shows your plan now.
pay-money-unavailable = Paying by card is not possible right now. Please pay with Stars or try again later.
subscription-canceled = Your { $plan } subscription will not renew; it stays active until { $until }.
subscription-active = Your { $plan } subscription will renew again; it is paid until { $until }.
subscription-failed = The renewal of your { $plan } subscription failed, so it ends at { $until }. /subscribe to buy it again.

limit-reached = You have used all { $limit } messages with { $model } on the { $plan } plan. The next one frees up { $when }.
limit-reached-tokens = You have used your { $limit } tokens with { $model } on the { $plan } plan. More frees up { $when }.
limit-not-included = { $model } is not included in the { $plan } plan.
limit-offer = A plan gives you more:
limits-off = There are no usage limits in this bot.
limits-header = Your plan: { $plan }. What is left:
limits-line = { $models }: { $left } (per { $hours } h)
limits-messages = { $left } of { $limit } messages
limits-tokens = { $left } of { $limit } tokens
limits-next = The next one frees up { $when }.
limits-not-included = { $models }: not included in your plan.
limits-unlimited = Unlimited: { $models }.

subinfo-current = Your plan: { $plan }.
subinfo-until = { $plan }: until { $until }
subinfo-expired = { $plan }: ended { $until }
subinfo-renewal-active = Renews automatically every 30 days.
subinfo-renewal-canceled = Canceled: will not renew.
subinfo-renewal-failed = The last renewal failed: will not renew.
subinfo-hint = /subscribe shows the plans; /limits what is left today.

paysupport-default = Problems with a payment? Write to the bot's operator and quote the payment's id from Telegram's receipt; refunds are made with Telegram Stars. Telegram's own support cannot help with purchases in this bot.
terms-default = Plans give access to the bot's models within the limits shown by /limits for the period paid. Payments are in Telegram Stars. A purchase can be refunded on request through /paysupport; a refund ends the plan it paid for.

## Operators

refund-usage = Send /refund followed by the payment's charge id (telegram_payment_charge_id, or the provider's id for a card payment) and, for a card payment, a note.
refund-money-usage = The payment { $charge } was made by card: refund it in your payment provider's dashboard, then record it here with a note, for example: /refund { $charge } refunded in the dashboard on request
refund-unknown = There is no payment with the charge id { $charge }.
refund-already = The payment { $charge } was refunded before; nothing changed.
refund-failed = Telegram refused the refund: { $error }
refund-done = Refunded { $amount } of payment { $charge } to user { $user }; their { $plan } now ends { $until }.
grant-usage = Send /grant <user id> <plan> <days>, for example: /grant 12345 pro 7
grant-unknown-plan = There is no paid plan { $plan }. Plans: { $plans }.
grant-done = User { $user } has { $plan } until { $until }.
revenue-header = ⭐ Revenue per plan and currency (paid, refunded, net):
revenue-period-day = Last 24 hours:
revenue-period-week = Last 7 days:
revenue-period-month = Last 30 days:
revenue-period-all = All time:
revenue-line = { $plan }: { $paid } in { $payments } payments, { $refunded } refunded in { $refunds }, net { $net }
revenue-empty = nothing
