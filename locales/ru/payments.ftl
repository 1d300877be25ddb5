## Тарифы, лимиты и оплата (Telegram Stars)

command-limits = Сколько осталось по лимитам
command-subscribe = Тарифы и цены
command-subinfo = Ваш тариф и срок его действия
command-paysupport = Помощь с оплатой
command-terms = Условия покупки

when-at = в { $time } (через { $span })
duration-minutes = { $minutes } мин
duration-hours-minutes = { $hours } ч { $minutes } мин
duration-days-hours = { $days } д { $hours } ч

plans-none = В этом боте нет платных тарифов: всё бесплатно.
plans-header = ⭐ Тарифы, оплата в Telegram Stars:
plans-header-money = ⭐ Тарифы, оплата в Telegram Stars или картой:
plans-current = Ваш тариф: { $plan }. Пропуска складываются; подписка продлевается каждые 30 дней, пока вы её не отмените.
plans-private-only = Тарифы покупаются в личном чате со мной: откройте @{ $bot } и отправьте /subscribe.
plan-line-pass = { $title }: ⭐{ $price } на { $days } дн.
plan-line-subscription = { $title }: ⭐{ $price } в месяц, продлевается каждые 30 дней
plan-button-pass = { $title } · ⭐{ $price } на { $days } дн.
plan-line-pass-both = { $title }: ⭐{ $price } или { $money } на { $days } дн.
plan-line-pass-money = { $title }: { $money } на { $days } дн.
plan-button-pass-money = { $title } · { $money } на { $days } дн.
plan-button-subscription = { $title } · ⭐{ $price } в месяц
plan-none = нет
invoice-subscription = Подписка { $title } за ⭐{ $price } в месяц. Отменить её можно в любой момент в настройках Telegram; тариф сохранится до конца оплаченного месяца.
invoice-subscription-button = Подписаться за ⭐{ $price } в месяц

pay-refused-invalid = Этот счёт недействителен для вашего аккаунта. Отправьте /subscribe, чтобы получить новый.
pay-refused-expired = Срок этого счёта истёк. Отправьте /subscribe, чтобы получить новый.
pay-refused-price = Цена этого тарифа изменилась. Отправьте /subscribe, чтобы получить новый счёт.
pay-refused-unavailable = Этот тариф больше не предлагается. Отправьте /subscribe, чтобы увидеть текущие тарифы.
pay-thanks-pass = Спасибо! Тариф { $plan } ваш до { $until }.
pay-thanks-subscription = Спасибо! Вы подписаны на { $plan } до { $until }; подписка продлевается каждые 30 дней.
pay-renewed = Ваша подписка { $plan } продлена: теперь до { $until }.
pay-unmatched = Оплата пришла, но я не смог понять, за какой она тариф. Напишите, пожалуйста, в /paysupport: мы разберёмся или вернём деньги.
pay-not-recorded = Оплата пришла, но я не смог записать её прямо сейчас. Она сохранена в журнале с номером платежа: если тариф не появится в /subinfo через несколько минут, напишите в /paysupport — его зачислят или вернут деньги.
pay-already-subscribed = У вас уже есть подписка { $plan } (оплачена до { $until }); она продлевается сама. /subinfo покажет её.
refund-notice = Вам возвращено { $amount }, и купленный за них тариф { $plan } отменён. /subinfo покажет ваш тариф сейчас.
pay-money-unavailable = Оплата картой сейчас невозможна. Оплатите звёздами или попробуйте позже.
subscription-canceled = Ваша подписка { $plan } не будет продлена; она действует до { $until }.
subscription-active = Ваша подписка { $plan } снова будет продлеваться; оплачена до { $until }.
subscription-failed = Не удалось продлить подписку { $plan }, поэтому она закончится { $until }. Купить снова: /subscribe.

limit-reached = Вы использовали все { $limit } сообщений с { $model } на тарифе { $plan }. Следующее освободится { $when }.
limit-reached-tokens = Вы израсходовали свои { $limit } токенов с { $model } на тарифе { $plan }. Лимит начнёт освобождаться { $when }.
limit-not-included = { $model } не входит в тариф { $plan }.
limit-offer = С платным тарифом можно больше:
limits-off = В этом боте нет лимитов.
limits-header = Ваш тариф: { $plan }. Осталось:
limits-line = { $models }: { $left } (за { $hours } ч)
limits-messages = { $left } из { $limit } сообщений
limits-tokens = { $left } из { $limit } токенов
limits-next = Следующее освободится { $when }.
limits-not-included = { $models }: не входит в ваш тариф.
limits-unlimited = Без ограничений: { $models }.

subinfo-current = Ваш тариф: { $plan }.
subinfo-until = { $plan }: до { $until }
subinfo-expired = { $plan }: закончился { $until }
subinfo-renewal-active = Продлевается автоматически каждые 30 дней.
subinfo-renewal-canceled = Отменена: продлеваться не будет.
subinfo-renewal-failed = Последнее продление не удалось: продлеваться не будет.
subinfo-hint = /subscribe покажет тарифы, /limits — сколько осталось.

paysupport-default = Проблемы с оплатой? Напишите оператору бота и укажите номер платежа из чека Telegram; возврат делается в Telegram Stars. Поддержка Telegram не может помочь с покупками в этом боте.
terms-default = Тариф даёт доступ к моделям бота в пределах лимитов, которые показывает /limits, на оплаченный срок. Оплата в Telegram Stars. Покупку можно вернуть по запросу через /paysupport; возврат отменяет оплаченный им тариф.

## Операторы

refund-usage = Отправьте /refund и номер платежа (telegram_payment_charge_id или номер платежа у провайдера для оплаты картой), а для оплаты картой ещё и примечание.
refund-money-usage = Платёж { $charge } сделан картой: верните деньги в личном кабинете платёжного провайдера, затем запишите возврат здесь с примечанием, например: /refund { $charge } возврат в кабинете по просьбе клиента
refund-unknown = Платежа с номером { $charge } нет.
refund-already = Платёж { $charge } уже был возвращён; ничего не изменилось.
refund-failed = Telegram отказал в возврате: { $error }
refund-done = Возвращено { $amount } по платежу { $charge } пользователю { $user }; его тариф { $plan } теперь заканчивается { $until }.
grant-usage = Отправьте /grant <id пользователя> <тариф> <дней>, например: /grant 12345 pro 7
grant-unknown-plan = Платного тарифа { $plan } нет. Тарифы: { $plans }.
grant-done = У пользователя { $user } тариф { $plan } до { $until }.
revenue-header = ⭐ Выручка по тарифам и валютам (оплачено, возвращено, итого):
revenue-period-day = За 24 часа:
revenue-period-week = За 7 дней:
revenue-period-month = За 30 дней:
revenue-period-all = За всё время:
revenue-line = { $plan }: { $paid } за { $payments } платежей, возвращено { $refunded } в { $refunds }, итого { $net }
revenue-empty = ничего
