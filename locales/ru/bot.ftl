## Приветствие, помощь и управление диалогом

start-greeting =
    Здравствуйте, { $name }! Я чат-бот, который общается через несколько языковых моделей.
    Просто напишите мне. Я помню разговор, пока вы не начнёте новый командой /reset.
    Текущая модель: { $model }. Сменить её можно командой /setmodel.
help-text =
    Напишите сообщение, и я отвечу.
    /reset или /new: начать новый разговор (предыдущий я забуду)
    /retry: ответить на последнее сообщение заново
    /stop: остановить ответ, который я пишу
    /setmodel: выбрать языковую модель для этого чата
    /getmodel: показать текущую модель
    /setcharacter, /character: выбрать, кем мне быть (персонаж), или посмотреть текущего
    /settings: температура, top_p, длина ответа, подпись с моделью, маршрутизация
    /setsystem, /getsystem, /resetsystem: собственные инструкции модели для этого чата
    /language: язык, на котором я с вами говорю
    /history: текущий разговор файлом
    /tools: включить или выключить инструменты (поиск, веб-страницы, калькулятор, время, картинки)
    /limits: сколько осталось по лимитам; /subscribe: тарифы за Telegram Stars; /subinfo: ваш тариф
    /paysupport, /terms: помощь с оплатой, условия покупки
    /privacy: что я храню
    /help: эта справка
    Для каждого сообщения я подбираю инструкции по теме (код, математика, перевод, тексты…); чтобы выбрать самому, начните сообщение с #code, #math, #translate, #writing, #image, #search или #chat.
    Пришлите фото, альбом или документ (PDF, Word, текст, код) с вопросом в подписи; без вопроса я сделаю краткий пересказ. Документ остаётся в разговоре для следующих вопросов до /reset.
    В группах я отвечаю, когда меня упоминают, отвечают на моё сообщение или зовут коротким именем, заданным через /setshortname.
help-voice = Пришлите голосовое сообщение, аудиофайл или видеосообщение: я расшифрую его, покажу расшифровку и отвечу, как если бы вы его напечатали.
reset-done = Начат новый разговор. Предыдущие сообщения забыты.

## Модели

model-current = Текущая модель: { $model }.
model-choose = Выберите модель для этого чата. Сейчас: { $model }.
model-set = Модель переключена на { $model }.
model-unknown = Эта модель больше недоступна. Выберите другую командой /setmodel.
model-auto-name = Авто (лучшая модель для каждого сообщения)
model-auto-button = 🧭 Авто: лучшая модель для каждого сообщения

## Ответы и ошибки

answer-thinking = ✍️ Думаю…
answer-stopped = ⏹ Остановлено.
answer-footer = Модель: { $model }
answer-footer-routed = Модель: { $model } · маршрут: { $route }
button-stop = ⏹ Стоп
stop-done = Останавливаю ответ.
stop-nothing = Сейчас я ничего не пишу.
retry-nothing = Пока нечего переспрашивать: сначала задайте вопрос.
answer-empty = Модель вернула пустой ответ. Попробуйте ещё раз.
answer-truncated = ✂️ Ответ достиг предела длины для этой модели. Попросите продолжить, если нужно больше.
answer-interrupted = ⚠️ Ответ оборвался: { $reason }
error-timeout = Модель не ответила вовремя. Попробуйте ещё раз чуть позже.
error-rate-limited = Модель сейчас перегружена (лимит запросов). Попробуйте через минуту.
error-unavailable = Модель временно недоступна. Попробуйте позже.
error-connection = Не удалось связаться с моделью. Попробуйте позже.
error-auth = У бота нет доступа к этой модели (ключ оператора отклонён). Выберите другую модель через /setmodel.
error-rejected = Модель отклонила запрос. Попробуйте переформулировать его или начните новый разговор через /reset.
error-interrupted = Модель перестала присылать ответ.
error-too-long = Ваше сообщение слишком длинное для контекстного окна этой модели ({ $limit } токенов). Сократите его или выберите модель с бо́льшим контекстом через /setmodel.
error-internal = У меня что-то пошло не так. Попробуйте ещё раз.
unsupported-message = Я читаю текстовые и голосовые сообщения, фото, альбомы и документы (PDF, Word, текстовые файлы и код).

## Меню команд

command-start = Запустить бота
command-help = Что я умею
command-reset = Начать новый разговор
command-new = Начать новый разговор
command-retry = Ответить на последнее сообщение заново
command-stop = Остановить текущий ответ
command-setmodel = Выбрать модель
command-getmodel = Показать текущую модель
command-setcharacter = Выбрать персонажа
command-character = Текущий персонаж

## Фото

photo-default-question = Опиши эту картинку.
photo-too-large = Это фото слишком большое для меня. Пришлите, пожалуйста, фото поменьше.
photo-unreadable = Не получилось прочитать эту картинку. Пришлите её ещё раз как фото (JPEG, PNG, GIF или WebP).
image-too-many-pixels = Эта картинка слишком большая, чтобы безопасно её открыть (больше { $limit } мегапикселей). Пришлите, пожалуйста, поменьше.
photo-needs-vision = { $model } не видит изображения. Модели, которые видят: { $models }. Выберите одну ниже (режим «Авто» сам выбирает модель для каждого сообщения).
photo-needs-vision-no-auto = { $model } не видит изображения. Модели, которые видят: { $models }. Выберите одну ниже.
photo-no-vision-model = { $model } не видит изображения, и ни одна из здешних моделей не видит. Опишите, пожалуйста, картинку словами.

## Операторы

operators-only = Эта команда только для операторов бота.
route-off = Маршрутизация по намерениям выключена в конфигурации бота.
route-usage = Отправьте /route и сообщение, например: /route как развернуть список в Python
route-explain = Маршрут: { $route } (решил { $stage }, { $ms } мс)
route-explain-score = • { $route }: { $confidence } (порог { $threshold })
route-explain-judge = Судья { $model }: { $ms } мс, { $outcome }
route-explain-model = Модель для этого чата: { $model }
route-stage-rule = явный #тег
route-stage-local = локальный классификатор
route-stage-prior = маршрут предыдущего сообщения
route-stage-judge = LLM-судья
route-stage-default = маршрут по умолчанию (никто не был уверен)

## Персонажи

character-choose = Выберите, кем мне быть в этом чате (начнётся новый разговор). Сейчас: { $current }.
character-none-name = без персонажа
character-none-button = Без персонажа
character-none-available = В этом боте нет персонажей.
character-current-none = Персонаж не выбран. Выберите его командой /setcharacter.
character-current = Персонаж: { $name }. { $description }
character-cleared = Персонаж убран. Начат новый разговор.
character-unknown = Этот персонаж больше недоступен. Выберите другого командой /setcharacter.
character-set = Персонаж: { $name }. Начат новый разговор.
character-retired = Персонажа этого чата ({ $id }) убрал оператор бота, поэтому теперь я отвечаю от своего имени. Выберите другого командой /setcharacter.
character-file-error = ⚠️ В файле персонажа ошибка; его прежняя версия (если была) продолжает работать: { $error }

## Персонажи: операторы

character-admin-list = Персонажи в работе:
character-admin-broken = ⚠️ { $file }: { $error }
character-admin-file = Файл { $id }.md в том виде, в каком он лежит на диске.
character-admin-bad-id = «{ $id }» не подходит как id персонажа: строчные латинские буквы, цифры, «_» или «-» (не больше 40).
character-admin-unknown = Персонажа «{ $id }» нет. Список: /characters.
character-admin-exists = Персонаж «{ $id }» уже есть; изменить его: /character_edit { $id }.
character-admin-empty = Промпт пустой; ничего не изменено.
character-admin-send-prompt = Пришлите новый промпт для «{ $id }» следующим сообщением (/cancel — отмена).
character-admin-preview =
    Новый промпт «{ $id }»:

    { $prompt }
character-admin-confirm = ✅ Сохранить
character-admin-cancel = ✖️ Отмена
character-admin-cancelled = Ничего не изменено.
character-admin-saved = «{ $id }» сохранён как ревизия { $revision } и уже работает.
character-admin-invalid = Не сохранено: файл стал бы некорректным: { $error }
character-admin-history = Ревизии «{ $id }»:
character-admin-history-line = #{ $revision } { $action }, автор { $author }, { $when }
character-admin-no-history = У «{ $id }» нет ревизий, сделанных из Telegram.
character-admin-no-revision = У «{ $id }» нет ревизии { $revision }.
character-admin-revert-usage = Использование: /character_revert <id> <ревизия>; список ревизий: /character_history <id> (0 — файл до первой из них).
character-admin-reverted = «{ $id }» возвращён к ревизии { $revision } (записано как ревизия { $new }).

## Documents

document-default-question = Кратко перескажи этот документ: что это, главные мысли и на что стоит обратить внимание.
document-reading = 📄 Читаю страницу { $page } из { $pages }…
document-truncated = 📄 { $name } длиннее, чем эта модель может прочитать за раз: я прочитал примерно { $percent }%. Спросите о конкретной части или выберите модель с большим контекстом через /setmodel.
document-pages-capped = 📄 { $name }: я прочитал первые { $read } из { $total } страниц.
file-unsupported = Не могу прочитать { $name }. Я читаю PDF, Word (.docx), текстовые файлы, код и картинки.
file-too-large = Файл слишком большой: я читаю файлы до { $limit } МБ.
file-pdf-encrypted = { $name } защищён паролем, поэтому я не могу его прочитать. Пришлите, пожалуйста, копию без пароля.
file-pdf-truncated = Похоже, { $name } загрузился не полностью. Пришлите его, пожалуйста, ещё раз.
file-pdf-corrupt = Не получилось прочитать { $name }: PDF повреждён или использует то, что я не умею открывать. Попробуйте пересохранить его в PDF или пришлите текст.
file-binary = { $name } — не текстовый файл. Я читаю PDF, Word (.docx), текстовые файлы и код.
file-empty = Файл { $name } пустой.
file-unreadable = Не получилось открыть { $name }. Проверьте файл и пришлите его ещё раз.

answer-writing = ✍️ Пишу… (слов: { $words })
