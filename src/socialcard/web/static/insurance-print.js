// The kiosk's printing page: print the document in the frame once it has loaded, and again on
// request. A kiosk's browser runs in kiosk-printing mode, so printing needs no dialog. A browser
// driven by automation (navigator.webdriver: the tests) has no printer and is not asked to print.
(function () {
  var frame = document.getElementById("print-frame");
  var again = document.getElementById("print-again");
  if (!frame) { return; }
  function print() {
    try {
      frame.contentWindow.focus();
      frame.contentWindow.print();
    } catch (ignored) {
      window.print();
    }
  }
  if (!navigator.webdriver) { frame.addEventListener("load", print, { once: true }); }
  if (again) { again.addEventListener("click", print); }
})();
