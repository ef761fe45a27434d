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
    if (summary) summary.focus();
  });
})();
