// Signup form enhancement: time zone from the browser, submit through the JSON API,
// errors shown next to their field. Without this file the form posts as plain HTML.
(function () {
  "use strict";
  var form = document.querySelector("form[data-signup-form]");
  if (!form) return;

  var tz = form.querySelector("#timezone");
  if (tz && form.hasAttribute("data-fresh")) {
    try {
      var guess = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (guess) tz.value = guess;
    } catch {
      // Older browsers: keep the server's default.
    }
  }

  function errorSlot(field) {
    return form.querySelector('[data-error-for="' + field + '"]');
  }

  function clearErrors() {
    form.querySelectorAll("[data-error-for]").forEach(function (el) {
      el.textContent = "";
      el.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
  }

  function showError(field, message) {
    var parts = String(field || "form").split(".");
    var name = parts[0];
    var slot = errorSlot(name) || errorSlot("form");
    if (parts.length > 1 && /^[0-9]+$/.test(parts[1])) message = "Topic " + (Number(parts[1]) + 1) + ": " + message;
    // The API prefixes the field name; people read the message under the field anyway.
    message = String(message).replace(/^[A-Za-z0-9_.]+: /, "");
    slot.textContent = message;
    slot.hidden = false;
    var input = form.querySelector('[name="' + name + '"]');
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  function numberOrUndefined(value) {
    return value === "" ? undefined : Number(value);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    var data = new FormData(form);
    var body = {
      email: String(data.get("email") || "").trim(),
      topics: String(data.get("topics") || "")
        .split(/\r?\n/)
        .map(function (t) { return t.trim(); })
        .filter(function (t) { return t.length > 0; }),
      frequency: String(data.get("frequency") || "daily"),
      weekday: numberOrUndefined(String(data.get("weekday") || "")),
      sendHour: numberOrUndefined(String(data.get("sendHour") || "")),
      timezone: String(data.get("timezone") || "").trim(),
      maxPapers: numberOrUndefined(String(data.get("maxPapers") || "")),
      sendWhenEmpty: data.get("sendWhenEmpty") === "on",
      addTrending: data.get("addTrending") === "on",
    };
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    fetch("/api/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    })
      .then(function (res) {
        if (res.status === 202) {
          window.location.assign("/check-inbox");
          return;
        }
        return res.json().then(function (payload) {
          var err = (payload && payload.error) || {};
          if (res.status === 429) showError("form", err.message || "Too many attempts. Please wait a little and try again.");
          else showError(err.field || "form", err.message || "That didn't work. Please check the form.");
        });
      })
      .catch(function () {
        // Network trouble or an unexpected answer: fall back to the plain form post.
        form.submit();
      })
      .finally(function () {
        if (button) button.disabled = false;
      });
  });
})();
