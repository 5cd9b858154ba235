// Import progress: poll GET /imports/{id}/progress every second and update the page; reload
// once the import has finished so the rejections and report links appear. Without JavaScript
// the page still shows the state it was rendered with.
(function () {
  "use strict";
  var panel = document.querySelector("[data-progress-url]");
  if (!panel || panel.getAttribute("data-finished") === "true") {
    return;
  }
  var url = panel.getAttribute("data-progress-url");
  var numbers = new Intl.NumberFormat("zh-CN");

  function show(name, text) {
    var element = panel.querySelector('[data-field="' + name + '"]');
    if (element) {
      element.textContent = text;
    }
  }

  function update(progress) {
    var bar = panel.querySelector("progress");
    if (bar) {
      bar.value = progress.percent;
      bar.textContent = progress.percent + "%";
    }
    show("status_label", progress.status_label);
    show("rows_done", numbers.format(progress.rows_done));
    show("total_rows", progress.total_rows === null ? "统计中" : numbers.format(progress.total_rows));
    show("percent_text", progress.percent + "%");
    ["accepted", "updated", "unchanged", "rejected"].forEach(function (name) {
      show(name, numbers.format(progress[name]));
    });
    show("summary", progress.summary);
    var badge = panel.querySelector('[data-field="status_label"]');
    if (badge) {
      badge.className = "badge badge-" + progress.status;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) {
          window.location.reload();  // the session ended: the server sends us to the login page
          return undefined;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (progress) {
        if (progress === undefined) {
          return;
        }
        if (progress === null) {
          window.setTimeout(poll, 1000);
          return;
        }
        update(progress);
        if (progress.is_finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 1000);
      });
  }

  window.setTimeout(poll, 1000);
})();
