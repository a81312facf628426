// The waiting room (reservations/middleware.py): reload the page at the very millisecond the
// server said this place is let in (or its place may have moved), instead of the whole seconds the
// meta refresh counts, so that following the page is as quick as refreshing it over and over.
(function () {
  "use strict";
  var status = document.querySelector("[data-refresh-ms]");
  if (!status) {
    return;
  }
  var ms = parseInt(status.getAttribute("data-refresh-ms"), 10);
  if (!isFinite(ms) || ms < 0) {
    return;
  }
  window.setTimeout(function () {
    window.location.reload();
  }, ms);
})();
