/* Minsheng inbox: live countdowns, live rows over a websocket with reconnect and catch-up,
 * presence on the ticket page. Plain JS; htmx does the rest. */
(function () {
  "use strict";

  // --- countdowns ---------------------------------------------------------------------------
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d > 0) return d + "天" + h + "小时";
    if (h > 0) return h + "小时" + m + "分";
    return m + "分" + (sec < 10 ? "0" : "") + sec + "秒";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var level = el.dataset.level, clock = el.dataset.clock || "";
      var left = due - now, text, cls = level;
      if (level === "paused") {
        text = clock + "暂停（待市民补充）";
      } else if (left < 0 || level === "breached") {
        cls = "breached";
        text = clock + "已超时 " + span(left);
      } else {
        text = clock + "剩余 " + span(left);
      }
      el.textContent = text;
      el.className = "countdown level-" + cls;
    });
  }

  // --- a websocket that reconnects with backoff --------------------------------------------
  function liveSocket(path, handlers) {
    var status = document.getElementById("live-status");
    var attempt = 0, socket = null, heartbeat = null, everOpen = false;

    function show(state, text) {
      if (!status) return;
      status.dataset.state = state;
      status.textContent = text;
    }

    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + path);
      socket.onopen = function () {
        var reconnected = everOpen || attempt > 0;
        attempt = 0;
        everOpen = true;
        show("open", "● 实时");
        if (handlers.open) handlers.open(socket, reconnected);
        if (handlers.heartbeat) {
          heartbeat = setInterval(function () { handlers.heartbeat(socket); }, 30000);
        }
      };
      socket.onmessage = function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        handlers.message(data);
      };
      socket.onclose = function (event) {
        clearInterval(heartbeat);
        if (event.code === 4403) { show("closed", "× 无实时权限"); return; }
        attempt += 1;
        var delay = Math.min(30000, 1000 * Math.pow(2, attempt - 1)) * (0.75 + Math.random() / 2);
        show("retry", "◌ 重新连接中…");
        setTimeout(connect, delay);
      };
    }
    connect();
  }

  // --- the queue ----------------------------------------------------------------------------
  function results() { return document.getElementById("queue-results"); }

  function queueState() {
    var el = results();
    return {
      filter: el ? el.dataset.filter || "" : "",
      lastEvent: el ? parseInt(el.dataset.lastEvent || "0", 10) : 0,
    };
  }

  function noteEvent(id) {
    var el = results();
    if (el && id && id > parseInt(el.dataset.lastEvent || "0", 10)) el.dataset.lastEvent = id;
  }

  function placeRow(id, html, isNew) {
    var body = document.getElementById("queue-rows");
    if (!body) return;
    var current = document.getElementById("ticket-" + id);
    if (!html) {
      if (current) current.remove();
      return;
    }
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    if (!row) return;
    if (current) {
      var picked = current.querySelector("input[name=pick]");
      var box = row.querySelector("input[name=pick]");
      if (picked && box && picked.checked) box.checked = true;
      current.replaceWith(row);
    } else if (isNew) {
      body.insertBefore(row, body.firstChild);
    } else {
      return; // a changed ticket that was not on this page: it stays where paging finds it
    }
    var empty = document.getElementById("queue-empty");
    if (empty) empty.remove();
    if (window.htmx) window.htmx.process(row);
    tick();
  }

  function fetchRow(id, isNew) {
    var filter = queueState().filter;
    fetch("/inbox/rows/" + id + "/" + (filter ? "?" + filter : ""), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    }).then(function (response) {
      if (response.status === 204) return placeRow(id, null, isNew);
      if (response.ok) return response.text().then(function (html) { placeRow(id, html, isNew); });
    });
  }

  function catchUp() {
    var state = queueState();
    var query = "since=" + state.lastEvent + (state.filter ? "&" + state.filter : "");
    fetch("/inbox/changes/?" + query, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (data.reload) { location.reload(); return; }
        data.rows.forEach(function (row) { placeRow(row.id, row.html, true); });
        noteEvent(data.last_event_id);
      });
  }

  function startQueue() {
    liveSocket("/ws/inbox/", {
      open: function (socket, reconnected) { if (reconnected) catchUp(); },
      message: function (data) {
        if (data.type !== "ticket.changed") return;
        noteEvent(data.event_id);
        fetchRow(data.ticket_id, true);
      },
    });
    document.addEventListener("change", function (event) {
      if (event.target && event.target.id === "pick-all") {
        document.querySelectorAll("input[name=pick]").forEach(function (box) {
          box.checked = event.target.checked;
        });
      }
    });
  }

  // --- the ticket page ----------------------------------------------------------------------
  function startTicket(page) {
    var lastEvent = parseInt(page.dataset.lastEvent || "0", 10);
    var presence = document.getElementById("presence");
    liveSocket("/ws/inbox/tickets/" + page.dataset.ticket + "/", {
      open: function (socket, reconnected) {
        if (reconnected) {
          // Catch up: has anything happened to this ticket while we were away?
          fetch("/inbox/changes/?since=" + lastEvent, { credentials: "same-origin" })
            .then(function (r) { return r.ok ? r.json() : null; })
            .then(function (data) {
              if (data && data.rows.some(function (row) { return String(row.id) === page.dataset.ticket; })) {
                document.getElementById("changed-banner").hidden = false;
              }
            });
        }
      },
      heartbeat: function (socket) { socket.send(JSON.stringify({ type: "heartbeat" })); },
      message: function (data) {
        if (data.type === "presence") {
          var names = data.viewers.map(function (v) { return v.name; });
          presence.hidden = names.length === 0;
          presence.textContent = names.length ? "● " + names.join("、") + " 也在查看此工单" : "";
        } else if (data.type === "ticket.changed" && data.event_id > lastEvent) {
          document.getElementById("changed-banner").hidden = false;
        }
      },
    });
    // Routing suggestion: "采用" fills the department of the assign form (or the category of
    // the classify form) and opens it; the dispatcher still submits it.
    document.querySelectorAll("button[data-suggest]").forEach(function (button) {
      button.addEventListener("click", function () {
        var action = button.dataset.suggest === "department" ? "assign" : "classify";
        var form = document.querySelector("details.action-" + action);
        var select = form && form.querySelector("select[name=" + button.dataset.suggest + "]");
        if (!select) return;
        select.value = button.dataset.value;
        form.open = true;
        form.scrollIntoView({ block: "center" });
        select.focus();
      });
    });
    document.querySelectorAll("select.reply-template").forEach(function (select) {
      select.addEventListener("change", function () {
        var target = document.getElementById(select.dataset.target);
        if (target && select.value && (!target.value.trim() || confirm("用模板替换已填写的答复内容？"))) {
          target.value = select.value;
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    tick();
    setInterval(tick, 1000);
    document.body.addEventListener("htmx:afterSwap", function () {
      tick();
      var saved = document.getElementById("save-view-query");
      if (saved && results()) saved.value = results().dataset.filter || "";
    });
    var page = document.getElementById("ticket-page");
    if (page) startTicket(page);
    else if (results()) startQueue();
    // On a phone the filters start folded, so the queue is the first thing seen.
    var filters = document.getElementById("filters-box");
    if (filters && window.matchMedia("(max-width: 720px)").matches && !location.search) {
      filters.open = false;
    }
  });
})();
