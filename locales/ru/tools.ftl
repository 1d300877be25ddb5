## Инструменты: что модели могут вызывать, переключатель /tools, статус во время работы

command-tools = включить или выключить инструменты (поиск, картинки…)
tools-on = 🧰 Инструменты в этом чате включены: модель может использовать { $tools }.
tools-off = 🧰 Инструменты в этом чате выключены: модель отвечает по своим знаниям.
tools-none-configured = 🧰 В этом боте инструменты не настроены.
tools-model-cannot = Текущая модель, { $model }, не умеет пользоваться инструментами; выберите другую через /setmodel.
tools-auto = В режиме «Авто» инструментами пользуются модели, которые это умеют.
tools-button-off = Выключить инструменты
tools-button-on = Включить инструменты
tools-saved = Сохранено.

tool-name-web_search = 🔎 поиск в интернете
tool-name-fetch_url = 🌐 чтение веб-страниц
tool-name-calculator = 🧮 калькулятор
tool-name-current_time = 🕒 текущее время
tool-name-generate_image = 🎨 генерацию картинок

tool-status-web-search = 🔎 Ищу в интернете…
tool-status-fetch-url = 🌐 Читаю страницу…
tool-status-calculator = 🧮 Считаю…
tool-status-current-time = 🕒 Смотрю время…
tool-status-generate-image = 🎨 Рисую картинку…
tool-status-other = 🧰 Работаю с инструментом…
answer-pictures-only = 🎨 Вот картинка.

## Инструменты MCP-серверов (свои у оператора: вики, база данных, система заявок…)

tool-status-mcp = 🔌 Обращаюсь к { $server }…
tools-mcp-header = Инструменты серверов бота:
tools-mcp-server = 🔌 { $server }: { $description } — { $tools }
tools-mcp-server-plain = 🔌 { $server }: { $tools }
tools-mcp-unavailable = 🔌 { $server }: сейчас недоступен
mcp-server-down = 🔌 MCP-сервер { $server } недоступен: { $problem }. Его инструменты убраны из новых ответов; бот продолжает к нему подключаться и сообщит, когда сервер вернётся.
mcp-server-back = 🔌 MCP-сервер { $server } снова работает, инструментов: { $tools }.
mcp-reload-failed = 🔌 Конфигурация не перечитана (MCP-серверы работают как раньше): { $error }
