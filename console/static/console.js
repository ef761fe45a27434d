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
  // heading, a status message), or to the error summary; never left on a removed node.
  document.addEventListener("htmx:afterSwap", function (event) {
    var root = event.detail.target || document;
    var target = root.querySelector("[data-focus], #resumo-erros");
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("resumo-erros");
    if (summary) summary.focus();
  });
})();
