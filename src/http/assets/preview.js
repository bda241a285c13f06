// Live topic preview for the signup form and the manage page.
// Finds textarea[name=topics] and a [data-topic-preview] container, asks
// /api/preview ~400 ms after the person stops typing, and says what those topics
// would have brought on the latest listing day. Any failure leaves the container
// empty: the preview is a nicety, never in the way of the form.
(function () {
  "use strict";

  var DELAY_MS = 400;
  var SHOWN = 5;

  function topicsOf(text) {
    return text
      .split(/\r?\n/)
      .map(function (s) { return s.trim(); })
      .filter(function (s) { return s.length >= 2 && s.length <= 100; })
      .slice(0, 20);
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  function dayLabel(day) {
    if (!day) return "On the latest day";
    var today = new Date();
    var yesterday = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - 1));
    if (yesterday.toISOString().slice(0, 10) === day) return "Yesterday";
    return "On " + day;
  }

  function render(container, data) {
    clear(container);
    var p = document.createElement("p");
    p.className = "hint";
    var n = data.count;
    var lead = dayLabel(data.day) + " these topics would have brought you " + n + (n === 1 ? " paper" : " papers");
    p.textContent = n === 0 ? lead + "." : lead + ":";
    container.appendChild(p);
    if (n === 0) return;
    var ul = document.createElement("ul");
    ul.className = "topics";
    data.papers.slice(0, SHOWN).forEach(function (paper) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = paper.url;
      a.rel = "noopener";
      a.target = "_blank";
      a.textContent = paper.title;
      li.appendChild(a);
      if (paper.matchedTopics && paper.matchedTopics.length > 0) {
        var why = document.createElement("span");
        why.className = "muted";
        why.textContent = " — " + paper.matchedTopics.join(", ");
        li.appendChild(why);
      }
      ul.appendChild(li);
    });
    container.appendChild(ul);
    if (n > SHOWN) {
      var more = document.createElement("p");
      more.className = "hint";
      more.textContent = "…and " + (n - SHOWN) + " more.";
      container.appendChild(more);
    }
  }

  function attach(textarea, container) {
    var timer = null;
    var seq = 0;
    var lastQuery = null;

    function update() {
      var topics = topicsOf(textarea.value);
      if (topics.length === 0) {
        lastQuery = null;
        clear(container);
        return;
      }
      var params = new URLSearchParams();
      topics.forEach(function (t) { params.append("topics", t); });
      var query = params.toString();
      if (query === lastQuery) return;
      lastQuery = query;
      var mine = ++seq;
      fetch("/api/preview?" + query, { headers: { accept: "application/json" }, credentials: "same-origin" })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (data) {
          if (mine !== seq) return; // a newer request is on its way
          if (!data || typeof data.count !== "number" || !Array.isArray(data.papers)) {
            clear(container);
            return;
          }
          render(container, data);
        })
        .catch(function () {
          if (mine === seq) clear(container);
        });
    }

    textarea.addEventListener("input", function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(update, DELAY_MS);
    });
    container.setAttribute("aria-live", "polite");
    if (textarea.value.trim() !== "") update();
  }

  function init() {
    var container = document.querySelector("[data-topic-preview]");
    if (!container) return;
    var form = container.closest("form");
    var textarea = (form || document).querySelector("textarea[name=topics]") || document.querySelector("textarea[name=topics]");
    if (!textarea) return;
    attach(textarea, container);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
