// Live availability (kiosks/live.py, docs/live-availability.md).
//
// On an availability page (resident month and week grids, kiosk availability) this opens
// ws(s)://<host>/ws/availability/<facility>/<yyyy-mm>/ and, when the server says that days shown
// here changed, re-reads the page (or the kiosk's grid fragment) and swaps the [data-live-grid]
// elements in place, keeping focus and horizontal scroll, then says so in the polite live region.
// While the socket is down it re-reads the grid every data-live-fallback seconds and reconnects
// with a growing, jittered delay. Settings come from the data-live-* attributes of [data-live];
// its data-live-state says whether the socket is "open" or "down".
(function () {
  "use strict";

  var root = document.querySelector("[data-live]");
  if (!root || !window.fetch || !window.DOMParser) { return; }
  var cfg = root.dataset;
  var first = cfg.liveFirst, last = cfg.liveLast;
  var fallbackMs = (parseInt(cfg.liveFallback, 10) || 60) * 1000;
  var RETRIES = 4; // re-reads of a page older than the change announced (1, 2, 4, 8 s apart)
  var MAX_BACKOFF = 60000;

  var socket = null, backoff = 1000, reconnectTimer = null, fallbackTimer = null, leaving = false;
  var busy = false, again = false, pendingVersion = "", hiddenChange = false;

  function socketUrl() {
    var base = cfg.liveUrl || ((location.protocol === "https:" ? "wss://" : "ws://") + location.host);
    var months = parseInt(cfg.liveMonths, 10) || 1;
    return base.replace(/\/+$/, "") + "/ws/availability/" + cfg.liveFacility + "/" + cfg.liveMonth + "/" +
      (months > 1 ? "?months=" + months : "");
  }

  function grids() { return Array.prototype.slice.call(document.querySelectorAll("[data-live-grid]")); }

  // Whether a page at `have` is older than the change at `want` (versions are big integers as text).
  function older(have, want) {
    if (!have || !want || typeof BigInt !== "function") { return false; }
    try { return BigInt(have) < BigInt(want); } catch (e) { return false; }
  }

  function newer(a, b) { return !b || (a && older(b, a)); }

  function announce() {
    root.textContent = "";
    // A fresh text node after a pause, so screen readers announce the same message again.
    window.setTimeout(function () {
      var now = new Date();
      var hh = ("0" + now.getHours()).slice(-2), mm = ("0" + now.getMinutes()).slice(-2);
      root.textContent = cfg.liveMessage + " (" + hh + ":" + mm + ")";
    }, 150);
  }

  function swap(fresh) {
    var current = grids();
    var active = document.activeElement, focusGrid = -1, focusHref = null, focusId = null;
    current.forEach(function (grid, i) {
      if (active && grid.contains(active)) {
        focusGrid = i;
        focusHref = active.getAttribute("href");
        focusId = active.id || null;
      }
    });
    var changed = false;
    current.forEach(function (grid, i) {
      var replacement = fresh[i];
      if (!replacement || replacement.innerHTML === grid.innerHTML) { return; }
      var scrolls = Array.prototype.map.call(grid.querySelectorAll(".grid-wrap, [data-live-scroll]"), function (el) {
        return el.scrollLeft;
      });
      grid.innerHTML = replacement.innerHTML;
      Array.prototype.forEach.call(grid.querySelectorAll(".grid-wrap, [data-live-scroll]"), function (el, j) {
        if (scrolls[j]) { el.scrollLeft = scrolls[j]; }
      });
      changed = true;
      if (i === focusGrid) {
        var target = (focusId && document.getElementById(focusId)) || null;
        if (!target && focusHref) {
          target = Array.prototype.filter.call(grid.querySelectorAll("[href]"), function (el) {
            return el.getAttribute("href") === focusHref;
          })[0] || null;
        }
        if (!target) {
          grid.setAttribute("tabindex", "-1");
          target = grid;
        }
        target.focus({ preventScroll: true });
      }
    });
    if (changed) { announce(); }
  }

  function refresh(minVersion, attempt) {
    if (busy) {
      again = true;
      if (newer(minVersion, pendingVersion)) { pendingVersion = minVersion; }
      return;
    }
    busy = true;
    var current = grids();
    var url = (current.length === 1 && current[0].dataset.fragmentUrl) || location.href;
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "X-Live-Refresh": "1" } })
      .then(function (response) {
        if (response.redirected || response.status === 403) {
          // e.g. the kiosk's session ended or the kiosk was revoked: show what the server says.
          location.assign(response.redirected ? response.url : location.href);
          return null;
        }
        if (!response.ok) { return null; }
        var version = response.headers.get("X-Availability-Version");
        return response.text().then(function (html) {
          if (older(version, minVersion) && attempt < RETRIES) {
            // Served the previous rendering while someone re-renders: read it again shortly.
            window.setTimeout(function () { refresh(minVersion, attempt + 1); }, 1000 * Math.pow(2, attempt));
            return;
          }
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelectorAll("[data-live-grid]");
          if (fresh.length !== current.length) { location.reload(); return; }
          swap(fresh);
        });
      })
      .catch(function () { /* offline for a moment: the next change or the fallback tries again */ })
      .then(function () {
        busy = false;
        if (again) {
          var version = pendingVersion;
          again = false;
          pendingVersion = "";
          refresh(version, 0);
        }
      });
  }

  function changeAnnounced(version) {
    if (document.hidden) { // re-read when the page is looked at again, not for every change meanwhile
      hiddenChange = true;
      if (newer(version, pendingVersion)) { pendingVersion = version; }
      return;
    }
    // Spread the crowd's re-reads over a moment instead of all in the same millisecond.
    window.setTimeout(function () { refresh(version, 0); }, Math.random() * 750);
  }

  function relevant(message) {
    if (message.type !== "availability" || String(message.facility) !== String(cfg.liveFacility)) { return false; }
    var dates = message.dates || [];
    if (!dates.length) { return true; }
    return dates.some(function (d) { return d >= first && d <= last; });
  }

  function startFallback() {
    if (fallbackTimer === null) {
      fallbackTimer = window.setInterval(function () {
        if (!document.hidden) { refresh("", RETRIES); }
      }, fallbackMs);
    }
  }

  function stopFallback() {
    if (fallbackTimer !== null) {
      window.clearInterval(fallbackTimer);
      fallbackTimer = null;
    }
  }

  function scheduleReconnect() {
    if (leaving || reconnectTimer !== null) { return; }
    var delay = backoff / 2 + Math.random() * backoff / 2;
    backoff = Math.min(backoff * 2, MAX_BACKOFF);
    reconnectTimer = window.setTimeout(function () {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function connect() {
    if (leaving || !window.WebSocket) { startFallback(); return; }
    var wasDown = fallbackTimer !== null;
    try {
      socket = new WebSocket(socketUrl());
    } catch (e) {
      startFallback();
      scheduleReconnect();
      return;
    }
    socket.onopen = function () {
      root.dataset.liveState = "open";
      backoff = 1000;
      stopFallback();
      if (wasDown) { changeAnnounced(""); } // whatever changed while we were away
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (relevant(message)) { changeAnnounced(message.version || ""); }
    };
    socket.onclose = function () {
      socket = null;
      root.dataset.liveState = "down";
      if (leaving) { return; }
      startFallback();
      scheduleReconnect();
    };
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && hiddenChange) {
      hiddenChange = false;
      var version = pendingVersion;
      pendingVersion = "";
      refresh(version, 0);
    }
  });
  window.addEventListener("pagehide", function () {
    leaving = true;
    if (socket) { socket.close(); }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { // back from the back-forward cache: listen again, and catch up
      leaving = false;
      backoff = 1000;
      startFallback();
      connect();
    }
  });

  connect();
})();
