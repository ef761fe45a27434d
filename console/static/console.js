// The console's own behaviour, over htmx: the CSRF token on every htmx request, focus
// moved sensibly after a partial update, and the error summary focused when a form comes
// back with errors. Every main action also works without this file (plain form posts).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // After a swap, focus goes to the element the response marks with data-focus (a
  // caption, a status message), or to the error summary; never left on a removed node.
  // An outerHTML swap replaces the target itself: its successor has the same id.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    var root = target && target.isConnected ? target
      : (target && target.id && document.getElementById(target.id)) || document;
    var focus = root.querySelector("[data-focus], #resumo-erros");
    if (focus) {
      if (!focus.hasAttribute("tabindex")) focus.setAttribute("tabindex", "-1");
      focus.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("resumo-erros");
    var notice = document.getElementById("aviso");
    if (summary) summary.focus();
    else if (notice) notice.focus();
  });

  // A form marked data-dialog (a GET to the dialog's own page, for a browser without
  // this file) opens that <dialog> instead; focus goes to its first field, and back to
  // the opening button when it closes (Escape or a data-close button).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialog = form.dataset && form.dataset.dialog
      && document.getElementById(form.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    var opener = event.submitter || form.querySelector("button");
    dialog.showModal();
    var first = dialog.querySelector("select, textarea, input:not([type=hidden])");
    if (first) first.focus();
    dialog.addEventListener("close", function () {
      if (opener) opener.focus();
    }, { once: true });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-close]");
    var dialog = button && button.closest("dialog");
    if (dialog) dialog.close();
  });
})();
