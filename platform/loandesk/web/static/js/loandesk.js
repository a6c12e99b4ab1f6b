/* LoanDesk client helpers. No dependencies; safe to load with `defer`
   before or after htmx, since every listener sits on `document`.
   1. `.nav-toggle` toggles class `nav-open` on `.app` (mobile menu).
   2. Every htmx request carries header X-CSRFToken from
      <meta name="csrf-token" content="...">.
   3. On htmx:responseError (and htmx:sendError) a toast is shown in #toast:
      the JSON body's `message` when there is one, else #toast's data-error-text. */
(function () {
  "use strict";

  /* ---- Mobile navigation ---- */
  function setNavOpen(app, open) {
    app.classList.toggle("nav-open", open);
    var toggles = app.querySelectorAll(".nav-toggle");
    for (var i = 0; i < toggles.length; i++) {
      toggles[i].setAttribute("aria-expanded", open ? "true" : "false");
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var toggle = target.closest(".nav-toggle");
    if (toggle) {
      var app = toggle.closest(".app") || document.querySelector(".app");
      if (app) setNavOpen(app, !app.classList.contains("nav-open"));
      return;
    }
    var toast = target.closest("#toast");
    if (toast) hideToast(toast);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var app = document.querySelector(".app.nav-open");
    if (app) setNavOpen(app, false);
  });

  /* ---- CSRF header on every htmx request ---- */
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var token = meta && meta.getAttribute("content");
    if (token && event.detail && event.detail.headers) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  /* ---- Error toast ---- */
  var hideTimer = null;

  function hideToast(toast) {
    clearTimeout(hideTimer);
    toast.classList.remove("show");
    hideTimer = setTimeout(function () { toast.textContent = ""; }, 300);
  }

  function showToast(message) {
    var toast = document.getElementById("toast");
    if (!toast) return;
    clearTimeout(hideTimer);
    toast.textContent = "";
    toast.classList.add("show");
    // Set the text once the element is visible so screen readers announce it
    // (give #toast role="alert" in the template).
    hideTimer = setTimeout(function () {
      toast.textContent = message || toast.getAttribute("data-error-text") || "";
      hideTimer = setTimeout(function () { hideToast(toast); }, 6000);
    }, 50);
  }

  function jsonMessage(xhr) {
    if (!xhr || typeof xhr.responseText !== "string") return null;
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && typeof body.message === "string" && body.message.trim()) {
        return body.message;
      }
    } catch (e) { /* not JSON: fall back to the generic text */ }
    return null;
  }

  // A JSON error is a message for the toast, never markup to swap in (htmx swaps 422s so that
  // forms can come back with their field errors; a JSON 422 must not replace a table row).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (!xhr || xhr.status < 400) return;
    if (!/json/i.test(xhr.getResponseHeader("Content-Type") || "")) return;
    event.detail.shouldSwap = false;
    event.detail.isError = false;
    showToast(jsonMessage(xhr));
  });

  document.addEventListener("htmx:responseError", function (event) {
    showToast(jsonMessage(event.detail && event.detail.xhr));
  });

  // Network failure (server unreachable): no body, so the generic text.
  document.addEventListener("htmx:sendError", function () {
    showToast(null);
  });
})();
