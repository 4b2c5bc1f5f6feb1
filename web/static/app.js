// RP CRM web UI: the little JavaScript of our own. Everything works without
// it; this file only adds keyboard shortcuts and hands the CSRF token to htmx.
(function () {
  "use strict";

  // "/" focuses the search field in the header, unless the user is typing.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var q = document.getElementById("q");
    if (q) {
      e.preventDefault();
      q.focus();
      q.select();
    }
  });

  // htmx requests carry the CSRF token as a header (forms also have it as a
  // field, which keeps them working without JavaScript).
  document.addEventListener("htmx:configRequest", function (e) {
    var m = document.querySelector('meta[name="csrf-token"]');
    if (m) e.detail.headers["X-CSRF-Token"] = m.content;
  });

  // After htmx swapped in a new page, move the focus to the main content so
  // that screen readers announce it, as after a full page load.
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail.boosted && e.detail.requestConfig && e.detail.requestConfig.verb === "get") {
      var main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    }
  });
})();

// Live search in the header: arrow keys move between the input and the
// results below it, Escape closes them (the links are reachable with Tab too).
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    var box = document.getElementById("search-suggest");
    var q = document.getElementById("q");
    if (!box || !q) return;
    var inSearch = e.target === q || box.contains(e.target);
    if (!inSearch) return;
    var links = Array.prototype.slice.call(box.querySelectorAll("a"));
    if (e.key === "Escape") {
      box.innerHTML = "";
      q.focus();
      return;
    }
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    if (!links.length) return;
    e.preventDefault();
    var i = links.indexOf(e.target);
    if (e.key === "ArrowDown") {
      links[Math.min(i + 1, links.length - 1)].focus();
    } else if (i <= 0) {
      q.focus();
    } else {
      links[i - 1].focus();
    }
  });
})();
