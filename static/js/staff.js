// Staff terminal (templates/kiosks/staff/base_staff.html): print buttons and confirmations.
//
// - A button with `data-print` prints the page (the registration slip, the cash-up).
// - A submit button with `data-confirm="..."` asks before its form is sent (cancellations, the draw).
// Everything works without this script too: printing from the browser, forms sent at once.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
