/* Report archive: while a report is queued or being generated, poll its status and move
   the progress bar; reload when it is done so the download link appears. */
(function () {
  "use strict";
  var rows = document.querySelectorAll("tr[data-report]");
  rows.forEach(function (row) {
    var status = row.getAttribute("data-status");
    if (status !== "pending" && status !== "running") return;
    var timer = setInterval(function () {
      fetch(row.getAttribute("data-status-url"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (info) {
          row.querySelector("progress").value = info.progress;
          row.querySelector("[data-field=step]").textContent = info.step;
          row.querySelector("[data-field=status]").textContent = info.status_label;
          if (info.status === "done" || info.status === "failed") {
            clearInterval(timer);
            location.reload();
          }
        })
        .catch(function () {});
    }, 1500);
  });
})();
