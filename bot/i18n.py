"""User-facing texts: a dict catalog, Russian first, English second.

A dict rather than gettext ``.po`` files: the bot has one screen of texts and no
translators' tool chain yet; ``tr(key, **values)`` is the one entry point, so moving
to gettext later changes this file only.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("ru", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "greeting": (
        "Здравствуйте, {name}! Это бот {firm}: каталог, корзина, заказы и оплата, "
        "а ещё можно просто написать нам сюда.\n\n"
        "Поделитесь номером телефона кнопкой ниже, чтобы мы узнали вас "
        "(можно пропустить и просто смотреть каталог).",
        "Hello, {name}! This is the {firm} bot: catalog, cart, orders and payment, "
        "and you can simply write to us here.\n\n"
        "Share your phone number with the button below so we know who you are "
        "(you may skip it and just browse).",
    ),
    "share_contact": ("📱 Поделиться номером", "📱 Share my number"),
    "skip": ("Пропустить", "Skip"),
    "contact_not_own": (
        "Пожалуйста, поделитесь своим номером кнопкой «Поделиться номером».",
        "Please share your own number with the “Share my number” button.",
    ),
    "contact_bad": (
        "Не получилось разобрать номер. Попробуйте ещё раз.",
        "Could not read that number. Please try again.",
    ),
    "contact_linked": ("Спасибо, {name}! Мы вас узнали.", "Thank you, {name}! We know you now."),
    "skipped": (
        "Хорошо. Каталог: /catalog, корзина: /cart, помощь: /help.",
        "All right. Catalog: /catalog, cart: /cart, help: /help.",
    ),
    "help": (
        "/catalog — каталог\n/cart — корзина\n/orders — мои заказы\n"
        "/language — язык\n/help — помощь\n\nЛюбое сообщение сюда получит менеджер.",
        "/catalog — catalog\n/cart — cart\n/orders — my orders\n"
        "/language — language\n/help — help\n\nAny message you write here reaches a manager.",
    ),
    "language_pick": ("Выберите язык:", "Choose a language:"),
    "language_set": ("Язык: русский.", "Language: English."),
    "outdated": ("Эта кнопка устарела.", "This button is outdated."),
    "not_found": ("Не найдено.", "Not found."),
    "unknown_command": (
        "Не знаю такой команды. Список команд: /help",
        "I do not know that command. Commands: /help",
    ),
    "unsupported": (
        "Я понимаю текст, фото и документы. Напишите, чем помочь.",
        "I understand text, photos and documents. Tell us how we can help.",
    ),
    "error": ("Что-то пошло не так, попробуйте ещё раз.", "Something went wrong, please retry."),
    "groups": ("Каталог: выберите раздел.", "Catalog: choose a section."),
    "group_empty": ("Здесь пока пусто.", "Nothing here yet."),
    "group_title": ("{group}: стр. {page} из {pages}", "{group}: page {page} of {pages}"),
    "all_products": ("Все товары", "All products"),
    "back": ("« Назад", "« Back"),
    "prev": ("‹", "‹"),
    "next": ("›", "›"),
    "to_cart": ("🛒 Корзина", "🛒 Cart"),
    "product_card": (
        "{name}\n{description}\nЦена: {price}\nВ наличии: {stock}",
        "{name}\n{description}\nPrice: {price}\nIn stock: {stock}",
    ),
    "no_price": ("по запросу", "on request"),
    "add_to_cart": ("➕ В корзину", "➕ Add to cart"),
    "in_cart": ("В корзине: {quantity}", "In cart: {quantity}"),
    "added": ("Добавлено: {quantity}", "Added: {quantity}"),
    "cart_empty": ("Корзина пуста. Каталог: /catalog", "Your cart is empty. Catalog: /catalog"),
    "cart_line": ("{name} × {quantity} = {amount}", "{name} × {quantity} = {amount}"),
    "cart_total": ("Итого: {total}", "Total: {total}"),
    "clear": ("🗑 Очистить", "🗑 Clear"),
    "checkout": ("✅ Оформить", "✅ Check out"),
    "cleared": ("Корзина очищена.", "The cart is cleared."),
    "ask_contact": (
        "Чтобы оформить заказ, поделитесь номером телефона.",
        "To place an order, please share your phone number.",
    ),
    "ask_delivery": ("Как получить заказ?", "How do you want to receive the order?"),
    "pickup": ("🏬 Самовывоз", "🏬 Pickup"),
    "delivery": ("🚚 Доставка", "🚚 Delivery"),
    "ask_address": ("Напишите адрес доставки.", "Write the delivery address."),
    "ask_comment": (
        "Комментарий к заказу? Напишите его или нажмите «Пропустить».",
        "A comment for the order? Write it or tap “Skip”.",
    ),
    "summary": (
        "Ваш заказ:\n{lines}\nПолучение: {how}\nКомментарий: {comment}",
        "Your order:\n{lines}\nReceiving: {how}\nComment: {comment}",
    ),
    "pickup_how": ("самовывоз", "pickup"),
    "none": ("—", "—"),
    "confirm": ("✅ Подтвердить", "✅ Confirm"),
    "cancel": ("✖ Отмена", "✖ Cancel"),
    "checkout_cancelled": ("Оформление отменено.", "Checkout cancelled."),
    "order_created": (
        "Заказ № {number} на {total} принят. Мы сообщим, когда он сменит статус.",
        "Order {number} for {total} is placed. We will tell you when its status changes.",
    ),
    "orders_empty": ("Заказов пока нет.", "No orders yet."),
    "orders_title": ("Ваши заказы:", "Your orders:"),
    "order_button": (
        "{emoji} № {number} · {date} · {total}",
        "{emoji} {number} · {date} · {total}",
    ),
    "order_card": (
        "{emoji} Заказ № {number} от {date}\nСтатус: {state}\n{lines}\nИтого: {total}\n"
        "Оплачено: {paid}% · Отгружено: {shipped}%",
        "{emoji} Order {number} of {date}\nStatus: {state}\n{lines}\nTotal: {total}\n"
        "Paid: {paid}% · Shipped: {shipped}%",
    ),
    "pay": ("💳 Оплатить {amount}", "💳 Pay {amount}"),
    "invoice_pdf": ("📄 Счёт (PDF)", "📄 Invoice (PDF)"),
    "repeat": ("🔁 Повторить", "🔁 Repeat"),
    "repeated": ("Товары заказа добавлены в корзину.", "The order's goods are in your cart."),
    "invoice_title": ("Заказ № {number}", "Order {number}"),
    "invoice_description": ("Оплата заказа № {number}", "Payment for order {number}"),
    "not_payable": ("Этот заказ сейчас нельзя оплатить.", "This order cannot be paid now."),
    "paid_thanks": (
        "Оплата {amount} по заказу № {number} получена. Спасибо!",
        "Payment of {amount} for order {number} received. Thank you!",
    ),
    "push_state": (
        "Заказ № {number}: новый статус — {state}.",
        "Order {number}: the status is now {state}.",
    ),
    "push_paid": (
        "Заказ № {number}: получена оплата {amount}, оплачено {percent}%.",
        "Order {number}: payment of {amount} received, {percent}% paid.",
    ),
    "message_received": (
        "Сообщение передано менеджеру, он ответит здесь.",
        "Your message is with a manager, who will answer here.",
    ),
    "cmd_start": ("Начать", "Start"),
    "cmd_catalog": ("Каталог", "Catalog"),
    "cmd_cart": ("Корзина", "Cart"),
    "cmd_orders": ("Мои заказы", "My orders"),
    "cmd_help": ("Помощь", "Help"),
    "cmd_language": ("Язык", "Language"),
    # --- managers (bound employees) ---
    "emp_bound": (
        "Готово, {name}: этот Telegram привязан к вашей учётной записи Firma. "
        "Сюда будут приходить новые заявки и напоминания.\n"
        "/today — план на сегодня, /leads — необработанные заявки.",
        "Done, {name}: this Telegram account is bound to your Firma account. "
        "New leads and reminders will come here.\n"
        "/today — today's plan, /leads — unprocessed leads.",
    ),
    "emp_invite_invalid": (
        "Ссылка-приглашение недействительна.",
        "This invite link is not valid.",
    ),
    "emp_invite_used": (
        "Эта ссылка-приглашение уже использована.",
        "This invite link was already used.",
    ),
    "emp_invite_expired": (
        "Срок ссылки-приглашения истёк, попросите новую.",
        "This invite link has expired; ask for a new one.",
    ),
    "cmd_today": ("План на сегодня", "Today's plan"),
    "cmd_leads": ("Необработанные заявки", "Unprocessed leads"),
    "cmd_tasks": ("Мои задачи", "My tasks"),
    "cmd_find": ("Найти клиента или заявку", "Find a customer or lead"),
    "lead_new": ("🆕 Новая заявка · {source}", "🆕 New lead · {source}"),
    "lead_repeat": ("🔁 Повторное обращение · {source}", "🔁 Repeat request · {source}"),
    "lead_taken_by": ("👤 Взял(а): {name}", "👤 Taken by {name}"),
    "lead_yours": ("👤 В работе у вас", "👤 In work: yours"),
    "lead_already_yours": ("Заявка уже у вас.", "The lead is already yours."),
    "lead_stale_taken": ("Заявку уже взял(а) {name}.", "{name} has already taken this lead."),
    "lead_closed": ("Заявка уже {result}.", "The lead is already {result}."),
    "result_converted": ("преобразована в клиента", "converted to a customer"),
    "result_hidden": ("скрыта", "hidden"),
    "result_open": ("в работе", "open"),
    "lead_converted": (
        "✅ Клиент создан: {url}",
        "✅ Customer created: {url}",
    ),
    "lead_converted_order": (
        "✅ Клиент и заказ № {number} созданы: {url}",
        "✅ Customer and order {number} created: {url}",
    ),
    "lead_hidden": ("🙈 Заявка скрыта: {reason}", "🙈 Lead hidden: {reason}"),
    "hide_pick": ("Причина скрытия:", "Why hide it?"),
    "btn_take": ("🙋 Взять", "🙋 Take"),
    "btn_convert": ("👤 В клиенты", "👤 Convert"),
    "btn_convert_order": ("🛒 Клиент + заказ", "🛒 Convert + order"),
    "btn_hide": ("🙈 Скрыть", "🙈 Hide"),
    "btn_done": ("✅ Сделано", "✅ Done"),
    "btn_snooze_15": ("⏰ 15 мин", "⏰ 15 min"),
    "btn_snooze_60": ("⏰ 1 час", "⏰ 1 h"),
    "reminder": ("🔔 {what}: {subject}\n🕒 {at}", "🔔 {what}: {subject}\n🕒 {at}"),
    "reminder_late": (
        "⚠️ С опозданием: должно было прийти в {due}",
        "⚠️ Late: was due at {due}",
    ),
    "reminder_event": ("Событие", "Event"),
    "reminder_task": ("Задача", "Task"),
    "reminder_with": ("С кем: {name} {phone}", "With: {name} {phone}"),
    "reminder_done": ("✅ Отмечено как сделанное.", "✅ Marked as done."),
    "reminder_snoozed": ("⏰ Напомню в {at}.", "⏰ I will remind you at {at}."),
    "reminder_stale": ("Уже {state}.", "Already {state}."),
    "reminder_no_later": (
        "Нельзя напомнить позже начала ({at}).",
        "Cannot remind after the start ({at}).",
    ),
    "today_title": ("📅 Сегодня, {date}", "📅 Today, {date}"),
    "today_events": ("События:", "Events:"),
    "today_tasks": ("Задачи на сегодня:", "Tasks due today:"),
    "today_overdue": ("Просроченные задачи:", "Overdue tasks:"),
    "today_leads": ("Необработанных заявок: {count}", "Unprocessed leads: {count}"),
    "today_nothing": ("ничего", "nothing"),
    "leads_title": ("Необработанные заявки: {count}", "Unprocessed leads: {count}"),
    "leads_none": ("Необработанных заявок нет.", "No unprocessed leads."),
}

Translate = Callable[..., str]


def pick_language(*candidates: str | None, default: str = "ru") -> str:
    """The first supported language among the stored choice and Telegram's language_code."""
    for code in candidates:
        short = (code or "").split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return default


def translator(language: str) -> Translate:
    index = 1 if language == "en" else 0

    def tr(key: str, /, **values: object) -> str:
        text = TEXTS[key][index]
        return text.format(**values) if values else text

    return tr
