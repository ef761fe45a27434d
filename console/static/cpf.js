// The CPF fields of a service's form (input[data-cpf]): the mask as it is typed, and the
// check digits verified before the form is sent. The server checks again (the requests
// service's own rule); without this file the form still works, refused there.
(function () {
  "use strict";

  function digits(value) { return value.replace(/\D/g, "").slice(0, 11); }

  function masked(d) {
    var out = d.slice(0, 3);
    if (d.length > 3) out += "." + d.slice(3, 6);
    if (d.length > 6) out += "." + d.slice(6, 9);
    if (d.length > 9) out += "-" + d.slice(9, 11);
    return out;
  }

  function valid(value) {
    var d = digits(value);
    if (d.length !== 11 || /^(\d)\1{10}$/.test(d)) return false;
    for (var n = 9; n <= 10; n++) {
      var total = 0;
      for (var i = 0; i < n; i++) total += Number(d[i]) * (n + 1 - i);
      if ((total * 10) % 11 % 10 !== Number(d[n])) return false;
    }
    return true;
  }

  function showError(input, message) {
    var id = "erro-" + input.name;
    var box = document.getElementById(id);
    if (!message) {
      if (box) box.remove();
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", (input.getAttribute("aria-describedby") || "")
        .split(" ").filter(function (x) { return x && x !== id; }).join(" "));
      return;
    }
    if (!box) {
      box = document.createElement("span");
      box.id = id;
      box.className = "feedback danger";
      box.setAttribute("role", "alert");
      input.parentNode.insertBefore(box, input);
      var described = (input.getAttribute("aria-describedby") || "").split(" ");
      if (described.indexOf(id) < 0) described.push(id);
      input.setAttribute("aria-describedby", described.filter(Boolean).join(" "));
    }
    box.textContent = message;
    input.setAttribute("aria-invalid", "true");
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-cpf]")) return;
    input.value = masked(digits(input.value));
    // An error shown stays until the number is right, then goes at once.
    if (input.getAttribute("aria-invalid") === "true" && valid(input.value)) {
      showError(input, "");
    }
  });

  document.addEventListener("submit", function (event) {
    var bad = null;
    event.target.querySelectorAll("input[data-cpf]").forEach(function (input) {
      var empty = !input.value.trim();
      var ok = empty || valid(input.value);
      showError(input, ok ? "" : "CPF inválido: confira os números.");
      if (!ok && !bad) bad = input;
    });
    if (bad) {
      event.preventDefault();
      bad.focus();
    }
  });
})();
