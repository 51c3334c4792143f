/* Firma web form: renders the form in a Shadow DOM (the host's CSS cannot reach it),
   sends it with fetch as JSON and shows field errors and the thank-you text in place.
   Hand-written, no library. The server puts the form's definition in place of the
   placeholder on the last line. */
(function (F) {
  "use strict";
  var script = document.currentScript;
  if (!script || !F) return;
  var base = new URL(script.src).origin;
  var lang = script.getAttribute("data-lang") || (document.documentElement.lang || "").slice(0, 2);
  if (lang !== "en") lang = "ru";
  var T = F.texts[lang];
  function tr(x) { return typeof x === "string" ? x : (x && (x[lang] || x.ru || x.en)) || ""; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text; // never innerHTML: labels are data, not markup
    return e;
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  var host = el("div", { "class": "firma-form" });
  script.parentNode.insertBefore(host, script.nextSibling);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = el("style");
  style.textContent = F.css;
  root.appendChild(style);
  var form = el("form", { novalidate: "", "aria-label": F.title });
  root.appendChild(form);
  form.appendChild(el("h2", {}, F.title));
  var status = el("p", { role: "alert", "class": "summary", hidden: "" });
  form.appendChild(status);
  var inputs = {}, errs = {};
  var types = { phone: "tel", email: "email", date: "date", name: "text", text: "text" };
  var auto = { phone: "tel", email: "email", name: "name" };

  function addField(f) {
    var id = "ff-" + f.name, box = el("div", { "class": f.type === "checkbox" ? "f c" : "f" });
    var input;
    if (f.type === "textarea") input = el("textarea", { maxlength: "10000" });
    else if (f.type === "select") {
      input = el("select");
      input.appendChild(el("option", { value: "" }, T.choose));
      f.options.forEach(function (o) { input.appendChild(el("option", { value: o }, o)); });
    } else if (f.type === "checkbox") input = el("input", { type: "checkbox" });
    else input = el("input", { type: types[f.type] || "text", autocomplete: auto[f.type] || null });
    input.id = id; input.name = f.name;
    if (f.required) { input.required = true; input.setAttribute("aria-required", "true"); }
    var lab = el("label", { "for": id }, tr(f.label) + (f.required ? " *" : ""));
    var err = el("div", { "class": "err", id: id + "-err", hidden: "" });
    input.setAttribute("aria-describedby", id + "-err");
    if (f.type === "checkbox") { box.appendChild(input); var w = el("div"); w.appendChild(lab); w.appendChild(err); box.appendChild(w); }
    else { box.appendChild(lab); if (f.help) box.appendChild(el("div", { "class": "help" }, tr(f.help))); box.appendChild(input); box.appendChild(err); }
    form.appendChild(box);
    inputs[f.name] = input; errs[f.name] = err;
  }
  F.fields.forEach(function (f) { if (f.type !== "hidden") addField(f); });
  addField({ name: "consent", type: "checkbox", required: true, label: T.consent });
  var det = el("details"); det.appendChild(el("summary", {}, T.consent_text));
  det.appendChild(el("p", {}, F.consent_text)); form.appendChild(det);
  if (F.marketing_text) {
    addField({ name: "marketing_consent", type: "checkbox", label: T.marketing });
    var d2 = el("details"); d2.appendChild(el("summary", {}, T.consent_text));
    d2.appendChild(el("p", {}, F.marketing_text)); form.appendChild(d2);
  }
  var button = el("button", { type: "submit" }, T.submit);
  form.appendChild(button);

  var token = null, key = uuid();
  fetch(base + "/forms/" + F.slug + "/token", { credentials: "omit" })
    .then(function (r) { return r.json(); }).then(function (j) { token = j.token; })
    .catch(function () {});

  function tracking() {
    var out = { referrer: document.referrer || "", page_url: location.href };
    new URLSearchParams(location.search).forEach(function (v, k) {
      if (/^utm_(source|medium|campaign|content|term)$/.test(k)) out[k] = v;
    });
    return out;
  }
  function showErrors(map) {
    for (var n in errs) { errs[n].hidden = true; inputs[n].removeAttribute("aria-invalid"); }
    var first = null;
    for (var name in map) {
      if (!errs[name]) continue;
      errs[name].textContent = map[name]; errs[name].hidden = false;
      inputs[name].setAttribute("aria-invalid", "true");
      first = first || inputs[name];
    }
    status.textContent = T.errors_above; status.hidden = false;
    if (first) first.focus();
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = tracking();
    F.fields.forEach(function (f) {
      if (f.type === "hidden") body[f.name] = f["default"] || "";
    });
    for (var n in inputs) body[n] = inputs[n].type === "checkbox" ? inputs[n].checked : inputs[n].value;
    body._token = token; body._idempotency_key = key; body.lang = lang;
    body.website = "";
    button.disabled = true; button.textContent = T.sending;
    fetch(base + "/forms/" + F.slug + "?lang=" + lang, {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return [r.status, j]; });
    }).then(function (res) {
      button.disabled = false; button.textContent = T.submit;
      if (res[0] === 201) {
        if (F.redirect_url) { location.href = F.redirect_url; return; }
        var done = el("p", { role: "status", "class": "done" }, F.success || T.thanks);
        form.replaceWith(done);
      } else if (res[0] === 422 && res[1].errors) showErrors(res[1].errors);
      else { status.textContent = res[0] === 429 ? T.too_many : (res[1].detail || T.failed); status.hidden = false; }
    }, function () {
      button.disabled = false; button.textContent = T.submit;
      status.textContent = T.failed; status.hidden = false;
    });
  });
})(/*FORM*/null);
