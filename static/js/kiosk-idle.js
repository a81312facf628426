// Kiosk idle countdown (templates/kiosks/base_kiosk.html, #idle-warning).
//
// After data-warn-seconds without activity a dialog counts down the seconds left; at
// data-logout-seconds a logged-in resident is logged out, and anyone else is taken back to the start
// page in Japanese (both by posting #idle-logout). The server ends a resident's session after the same
// idle time whatever this script does (kiosks/auth.py), so for a resident the countdown runs from the
// last request the server saw: a touch or key press more than a few seconds after it, or "続ける",
// sends a keepalive request, which restarts the server's clock. A keepalive answered with a redirect
// means the server has already ended the session: the page leaves for the start page.
(function () {
  "use strict";
  var box = document.getElementById("idle-warning");
  var form = document.getElementById("idle-logout");
  if (!box || !form) { return; }
  var warnAfter = Number(box.dataset.warnSeconds) * 1000;
  var endAfter = Number(box.dataset.logoutSeconds) * 1000;
  var resident = box.dataset.mode === "resident";
  var keepaliveUrl = box.dataset.keepaliveUrl;
  var seconds = document.getElementById("idle-seconds");
  var continueButton = document.getElementById("idle-continue");
  var tokenField = form.querySelector("input[name=csrfmiddlewaretoken]");
  var KEEPALIVE_EVERY = 5000;
  var since = Date.now(); // a resident: the server's last request; anyone else: the last activity
  var ended = false;

  function end() {
    if (ended) { return; }
    ended = true;
    form.submit();
  }

  function keepalive() {
    since = Date.now();
    fetch(keepaliveUrl, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": tokenField ? tokenField.value : "" }
    }).then(function (response) {
      if (response.type === "opaqueredirect" || response.status === 403) {
        ended = true;
        window.location.assign(box.dataset.homeUrl + "?timeout=1");
      }
    }).catch(function () { /* offline: the countdown goes on; the server decides */ });
  }

  function activity() {
    if (ended) { return; }
    if (!resident) { since = Date.now(); return; }
    if (Date.now() - since > KEEPALIVE_EVERY) { keepalive(); }
  }

  function tick() {
    var idle = Date.now() - since;
    if (idle >= endAfter) { end(); return; }
    if (idle >= warnAfter) {
      seconds.textContent = String(Math.ceil((endAfter - idle) / 1000));
      if (box.hidden) {
        box.hidden = false;
        continueButton.focus();
      }
    } else if (!box.hidden) {
      box.hidden = true;
    }
  }

  continueButton.addEventListener("click", function () {
    if (resident) { keepalive(); } else { since = Date.now(); }
    tick();
  });
  ["pointerdown", "keydown", "input"].forEach(function (name) {
    document.addEventListener(name, activity, true);
  });
  // A page brought back from the browser's memory (not from the server) is reloaded, so the server
  // decides again whether the session still exists.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { window.location.reload(); } });
  window.setInterval(tick, 250);
  tick();
})();
