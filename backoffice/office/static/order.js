// Firma back office: the order form. Hand-written, no library.
// - a search box (input[data-search]) suggests customers or products from a small JSON
//   endpoint and puts the chosen id into the hidden field named by data-target;
//   without JavaScript the text itself is posted and the server finds the match;
// - the lines table previews each line's amount and the total while typing (the core
//   recomputes them on save).
"use strict";

(() => {
  const number = (text) => {
    const value = parseFloat(String(text || "").replace(/[\s\u00a0]/g, "").replace(",", "."));
    return Number.isFinite(value) ? value : NaN;
  };
  const money = (value) =>
    value.toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "ru-RU", {
      minimumFractionDigits: 2, maximumFractionDigits: 2,
    }) + "\u00a0₽";

  function attachSearch(input) {
    const target = document.getElementById(input.dataset.target);
    const list = document.createElement("ul");
    list.className = "suggest hidden";
    list.id = input.id + "-suggest";
    list.setAttribute("role", "listbox");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.insertAdjacentElement("afterend", list);
    let timer = null;
    let active = -1;

    const close = () => {
      list.classList.add("hidden");
      input.setAttribute("aria-expanded", "false");
      active = -1;
    };
    const choose = (item) => {
      if (target) target.value = item.id;
      input.value = item.name;
      const price = document.getElementById("price");
      if (price && item.price && !price.value) price.placeholder = item.price;
      close();
    };
    const highlight = (index) => {
      const options = list.querySelectorAll("li");
      options.forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
      active = index;
    };

    async function search() {
      const q = input.value.trim();
      if (q.length < 2) { close(); return; }
      const url = input.dataset.search + (input.dataset.search.includes("?") ? "&" : "?") +
        "q=" + encodeURIComponent(q);
      let body;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) return;
        body = await response.json();
      } catch (_) { return; }
      list.replaceChildren();
      for (const item of body.items || []) {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.textContent = item.name + (item.sku ? " · " + item.sku : "") + (item.price ? " · " + item.price : "");
        li.addEventListener("mousedown", (event) => { event.preventDefault(); choose(item); });
        li.item = item;
        list.appendChild(li);
      }
      const any = list.children.length > 0;
      list.classList.toggle("hidden", !any);
      input.setAttribute("aria-expanded", any ? "true" : "false");
      active = -1;
    }

    input.addEventListener("input", () => {
      if (target) target.value = "";
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    input.addEventListener("keydown", (event) => {
      const options = list.querySelectorAll("li");
      if (list.classList.contains("hidden") || !options.length) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(Math.min(active + 1, options.length - 1)); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(options[active].item); }
      else if (event.key === "Escape") close();
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  function previewTotals(form) {
    const rows = form.querySelectorAll("tr[data-line-id]");
    const update = () => {
      let total = 0;
      let valid = true;
      rows.forEach((row) => {
        const qty = number(row.querySelector(".qty")?.value);
        const price = number(row.querySelector(".price")?.value);
        const discount = number(row.querySelector(".discount")?.value || "0");
        const cell = row.querySelector(".line-amount");
        if ([qty, price, discount].some(Number.isNaN)) { valid = false; return; }
        const amount = Math.round(qty * price * (100 - discount)) / 100;
        total += amount;
        if (cell) cell.textContent = money(amount);
      });
      const cell = document.getElementById("order-total");
      if (cell && valid) cell.textContent = money(total);
    };
    form.addEventListener("input", update);
  }

  document.querySelectorAll("input[data-search]").forEach(attachSearch);
  const lines = document.getElementById("lines-form");
  if (lines && lines.querySelector("input.qty")) previewTotals(lines);
})();
