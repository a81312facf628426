// The kiosk login keypad (templates/kiosks/login.html) types into the field last touched
// (the user number first).
(function () {
  "use strict";
  var fields = document.querySelectorAll(".keypad-target"), target = fields[0];
  if (!target) { return; }
  fields.forEach(function (f) { f.addEventListener("focus", function () { target = f; }); });
  document.querySelectorAll(".key").forEach(function (key) {
    key.addEventListener("click", function () {
      var k = key.dataset.key;
      if (k === "clear") { target.value = ""; }
      else if (k === "back") { target.value = target.value.slice(0, -1); }
      else if (target.value.length < (target.maxLength > 0 ? target.maxLength : 20)) { target.value += k; }
    });
  });
})();
