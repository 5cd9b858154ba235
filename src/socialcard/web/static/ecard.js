// The electronic card's QR code renews itself before it expires (no inline script: CSP).
(function () {
  var image = document.getElementById("ecard-code");
  var left = document.getElementById("ecard-left");
  if (!image) { return; }
  var seconds = parseInt(image.getAttribute("data-seconds"), 10) || 60;
  var remaining = seconds;
  function renew() {
    fetch("/portal/ecard/code", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (code) {
        if (!code) { window.location.href = "/portal"; return; }
        image.src = code.image;
        remaining = code.seconds;
      });
  }
  window.setInterval(function () {
    remaining -= 1;
    if (remaining <= 5) { renew(); remaining = seconds; }
    if (left) { left.textContent = String(Math.max(remaining, 0)); }
  }, 1000);
})();
