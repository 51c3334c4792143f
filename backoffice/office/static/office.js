// Firma back office: what every page shares. Hand-written, no library.
// - fetch() helpers that send the CSRF token and expect JSON;
// - forms with data-confirm ask before submitting;
// - selects/inputs with data-autosubmit submit their form on change.
"use strict";

const Office = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function post(url, data) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": csrf(),
        "X-Requested-With": "fetch",
      },
      body: JSON.stringify(data || {}),
    });
    let body = {};
    try { body = await response.json(); } catch (_) { /* empty body */ }
    if (!response.ok) {
      const error = new Error(body.detail || response.statusText);
      error.status = response.status;
      error.body = body;
      throw error;
    }
    return body;
  }

  function announce(text) {
    let region = document.getElementById("office-live");
    if (!region) {
      region = document.createElement("div");
      region.id = "office-live";
      region.className = "sr-only";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = text;
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("change", (event) => {
    const field = event.target;
    if (field.matches("[data-autosubmit]") && field.form) field.form.requestSubmit();
  });

  return { post, csrf, announce };
})();
window.Office = Office;
