## Работа с ботом: /stats, /broadcast, /unsubscribe

command-unsubscribe = Не получать объявления
command-stats = Статистика (для операторов)
command-broadcast = Сообщение всем пользователям (для операторов)
command-revenue = Выручка (для операторов)

stats-usage = Отправьте /stats за последние 30 дней или /stats и число дней (от 1 до { $max }).
stats-header = 📊 Последние { $days } дн. (UTC; посчитано за { $ms } мс)
stats-users = 👥 Пользователей: { $total }. Новых: { $new1 } сегодня, { $new7 } за 7 дней, { $new30 } за 30 дней. Активных: { $active1 } сегодня, { $active7 } за 7 дней, { $active30 } за 30 дней.
stats-models-header = 🤖 Ответы по моделям (токены на входе / выходе, оценка стоимости, время ответа p50 / p95):
stats-model-line = { $model } ({ $provider }): ответов { $answers }, токенов { $tokens_in } / { $tokens_out }, ~{ $cost }, { $latency }
stats-latency = { $p50 } / { $p95 } с
stats-latency-none = без замеров
stats-providers-header = 🏢 По провайдерам:
stats-provider-line = { $provider }: ответов { $answers }, токенов { $tokens }, ~{ $cost }
stats-routes = 🧭 Маршруты: { $routes }
stats-errors = ⚠️ Ошибки: { $errors }
stats-feedback-models = 👍/👎 по моделям: { $lines }
stats-feedback-characters = 👍/👎 по персонажам: { $lines }
stats-pictures = 🖼 Картинки: получено { $received }, создано { $generated }
stats-none = нет
stats-empty = пока ничего
stats-no-character = без персонажа
stats-chart-title = Активность по дням, последние 30 дней (UTC)
stats-chart-questions = вопросы
stats-chart-answers = ответы
stats-chart-users = активные пользователи
stats-chart-caption = Вопросы, ответы и активные пользователи по дням за последние 30 дней.

broadcast-send-next = Пришлите сообщение для всех пользователей: текст (Markdown работает) или фото с подписью. Строки в конце вида [Наш сайт](https://example.com) станут кнопками. /cancel — отмена.
broadcast-too-long = Это слишком длинно для одного сообщения (4096 символов, для подписи к фото 1024). Пришлите покороче.
broadcast-empty = В этом сообщении нечего отправлять. Пришлите текст или фото.
broadcast-confirm = ☝️ Так это будет выглядеть. Отправить { $users } пользователям?
broadcast-send-button = Отправить
broadcast-cancel-button = Отмена
broadcast-cancelled = Рассылка отменена; ничего не отправлено.
broadcast-not-draft = Эта рассылка уже отправлена или отменена.
broadcast-started = Рассылка { $id }: отправляю { $users } пользователям…
broadcast-progress = Отправка: { $done } из { $total } (отправлено { $sent }, заблокировали { $blocked }, ошибок { $failed }).
broadcast-report = Рассылка { $id } завершена за { $seconds } с: отправлено { $sent }, заблокировали бота { $blocked } (отмечены неактивными), ошибок { $failed }, всего { $total }.
broadcast-crashed = Рассылка { $id } остановилась из-за ошибки (подробности в журнале бота). Те, кому она ещё не пришла, получат её, когда бот запустится снова.
broadcast-unsubscribe-button = Отписаться от объявлений
broadcast-unsubscribed = Вы больше не будете получать объявления. Передумали? Нажмите кнопку.
broadcast-unsubscribed-toast = Готово: объявления больше не придут. /unsubscribe позволит включить их снова.
broadcast-resubscribe-button = Снова получать объявления
broadcast-resubscribed = Вы снова будете получать объявления.
