// Check-in by QR code at a kiosk (templates/kiosks/check_in.html): where the browser has the
// BarcodeDetector API with QR codes and a camera, a button turns the camera on; the first booking
// reference read is put in the field and the form is sent. Elsewhere the section stays hidden and
// the reference is typed. The camera stops on reading, on "stop", after two minutes, and when the
// page is left; nothing is sent anywhere but the form.
(function () {
  "use strict";
  var section = document.getElementById("scan");
  if (!section || !("BarcodeDetector" in window) || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) { return; }
  var field = document.getElementById(section.dataset.field);
  var form = document.getElementById(section.dataset.form);
  var live = document.getElementById("scan-live");
  var video = document.getElementById("scan-video");
  var failed = document.getElementById("scan-failed");
  var startButton = document.getElementById("scan-start");
  var REFERENCE = /^[A-Za-z0-9-]{4,12}$/;
  var MAX_MS = 120000;
  var stream = null, timer = null, startedAt = 0, detector = null;

  function stop() {
    if (timer) { window.clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    video.srcObject = null;
    live.hidden = true;
    startButton.hidden = false;
  }

  function scan() {
    if (!stream) { return; }
    if (Date.now() - startedAt > MAX_MS) { stop(); return; }
    detector.detect(video).then(function (codes) {
      var found = codes.map(function (c) { return (c.rawValue || "").trim(); })
        .filter(function (value) { return REFERENCE.test(value); })[0];
      if (found) {
        stop();
        field.value = found.toUpperCase();
        form.requestSubmit ? form.requestSubmit() : form.submit();
        return;
      }
      timer = window.setTimeout(scan, 250);
    }).catch(function () { timer = window.setTimeout(scan, 500); });
  }

  function start() {
    failed.hidden = true;
    // The tablet's own (front) camera faces the person holding up their phone or permit.
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      live.hidden = false;
      startButton.hidden = true;
      startedAt = Date.now();
      return video.play();
    }).then(scan).catch(function () {
      stop();
      failed.hidden = false;
      field.focus();
    });
  }

  Promise.resolve(window.BarcodeDetector.getSupportedFormats ? window.BarcodeDetector.getSupportedFormats() : ["qr_code"])
    .then(function (formats) {
      if (formats.indexOf("qr_code") === -1) { return; }
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      section.hidden = false;
      startButton.addEventListener("click", start);
      document.getElementById("scan-stop").addEventListener("click", stop);
      window.addEventListener("pagehide", stop);
    }).catch(function () { /* no detector: typing only */ });
})();
