// Kiosk mode: sign out by itself after a quiet spell; any touch or key restarts the count.
(function () {
  var form = document.getElementById("kiosk-sign-out");
  var left = document.getElementById("kiosk-left");
  if (!form) { return; }
  var limit = Math.max((parseInt(form.getAttribute("data-idle-seconds"), 10) || 90) - 30, 15);
  var remaining = limit;
  ["click", "keydown", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, function () { remaining = limit; }, true);
  });
  window.setInterval(function () {
    remaining -= 1;
    if (left) { left.textContent = String(Math.max(remaining, 0)); }
    if (remaining <= 0) { form.submit(); }
  }, 1000);
})();
