// RP CRM deal board: drag cards between stages (SortableJS). Each drop is
// saved at once (POST /deals/{id}/move with the card's version and the CSRF
// header); the server answers with the deal's new version and every
// column's count and total. On failure the card goes back — or, when
// someone else moved it meanwhile, to where it really is — and the message
// is shown. Without JavaScript each card's "move" form does the same.
(function () {
  "use strict";

  function init() {
    var board = document.getElementById("board");
    if (!board || board.dataset.ready || board.dataset.readonly || typeof Sortable === "undefined") return;
    board.dataset.ready = "1";
    var status = document.getElementById("board-status");
    var dialog = document.getElementById("lost-dialog");
    var token = document.querySelector('meta[name="csrf-token"]');

    function say(msg, isError) {
      if (!status) return;
      status.textContent = msg || "";
      status.className = "board-status" + (isError ? " error" : " ok");
      status.setAttribute("role", isError ? "alert" : "status");
    }

    function list(stageID) {
      return board.querySelector('ol.cards[data-stage="' + stageID + '"]');
    }

    function column(stageID) {
      return board.querySelector('.board-col[data-stage="' + stageID + '"]');
    }

    // The card's hidden version and stage select follow the server.
    function update(card, deal) {
      card.dataset.version = deal.version;
      var v = card.querySelector('input[name="version"]');
      if (v) v.value = deal.version;
      var sel = card.querySelector('select[name="stage_id"]');
      if (sel) sel.value = deal.stage_id;
    }

    function totals(cols) {
      (cols || []).forEach(function (c) {
        var col = column(c.stage_id);
        if (!col) return;
        var n = col.querySelector("[data-count]");
        var t = col.querySelector("[data-total]");
        if (n) n.textContent = c.count;
        if (t) t.textContent = c.total;
      });
    }

    // askReason opens the dialog for a move into a lost stage; done gets the
    // reason, or null when cancelled.
    function askReason(done) {
      if (!dialog || typeof dialog.showModal !== "function") {
        done(window.prompt(dialog ? dialog.querySelector("h2").textContent : "?") || null);
        return;
      }
      var form = dialog.querySelector("form");
      var area = dialog.querySelector("textarea");
      var err = document.getElementById("lost-dialog-error");
      area.value = "";
      if (err) err.hidden = true;
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        var reason = area.value.trim();
        done(dialog.returnValue === "ok" && reason ? reason : null);
      });
      form.addEventListener("submit", function onSubmit(e) {
        if (e.submitter && e.submitter.value === "ok" && !area.value.trim()) {
          e.preventDefault();
          if (err) {
            err.textContent = area.validationMessage || "?";
            err.hidden = false;
          }
          area.focus();
          return;
        }
        form.removeEventListener("submit", onSubmit);
      });
      dialog.showModal();
      area.focus();
    }

    function move(evt, reason) {
      var card = evt.item;
      var to = evt.to.dataset.stage;
      var body = new URLSearchParams();
      body.set("stage_id", to);
      body.set("version", card.dataset.version);
      if (reason) body.set("lost_reason", reason);
      card.classList.add("saving");
      card.setAttribute("aria-busy", "true");
      fetch("/deals/" + card.dataset.id + "/move", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Accept": "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
          "X-CSRF-Token": token ? token.content : ""
        },
        body: body.toString()
      }).then(function (res) {
        return res.json().catch(function () { return { ok: false, message: res.statusText }; });
      }).then(function (ans) {
        card.classList.remove("saving");
        card.removeAttribute("aria-busy");
        if (ans.ok) {
          update(card, ans.deal);
          totals(ans.columns);
          say(ans.message, false);
          return;
        }
        if (ans.needs_reason && !reason) {
          askReason(function (r) {
            if (r) move(evt, r);
            else back(evt, null);
          });
          return;
        }
        back(evt, ans.deal);
        totals(ans.columns);
        say(ans.message, true);
      }).catch(function () {
        card.classList.remove("saving");
        card.removeAttribute("aria-busy");
        back(evt, null);
        say(board.dataset.offline || "Netzwerkfehler / network error", true);
      });
    }

    // back puts the card where the server says the deal is, or where it
    // came from.
    function back(evt, deal) {
      var card = evt.item;
      var target = deal ? list(deal.stage_id) : null;
      if (deal) update(card, deal);
      if (target && target !== evt.from) {
        target.insertBefore(card, target.firstChild);
      } else {
        evt.from.insertBefore(card, evt.from.children[evt.oldIndex] || null);
      }
      var link = card.querySelector("a");
      if (link) link.focus();
    }

    board.querySelectorAll("ol.cards").forEach(function (ol) {
      Sortable.create(ol, {
        group: "deals",
        // Pointer events instead of native drag and drop: the same on mouse,
        // touch and pen, and what browser automation can drive.
        forceFallback: true,
        sort: false,
        draggable: ".deal-card.movable",
        animation: 120,
        filter: "select, button, input, label",
        preventOnFilter: false,
        onEnd: function (evt) {
          if (evt.from === evt.to) return;
          var col = evt.to.closest(".board-col");
          if (col && col.dataset.kind === "lost") {
            askReason(function (r) {
              if (r) move(evt, r);
              else back(evt, null);
            });
            return;
          }
          move(evt, null);
        }
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  document.addEventListener("htmx:load", init);
})();
