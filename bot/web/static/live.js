// Follows a running job's log through server-sent events: new lines are
// appended as they come, and the state badge changes when the job ends.
// The page works without this script; it only saves reloading.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || !log.dataset.follow || !window.EventSource) {
    return;
  }
  var src = new EventSource(log.dataset.events + "?from=" + encodeURIComponent(log.dataset.offset || "0"));
  function atBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  }
  src.addEventListener("log", function (e) {
    var d = JSON.parse(e.data);
    var follow = atBottom();
    if (d.reset) {
      log.textContent = "";
    }
    log.appendChild(document.createTextNode(d.text));
    if (follow) {
      log.scrollTop = log.scrollHeight;
    }
  });
  src.addEventListener("state", function (e) {
    var d = JSON.parse(e.data);
    src.close();
    var badge = document.getElementById("state");
    if (badge) {
      badge.textContent = d.state;
      badge.className = "badge big " + d.state;
    }
    var summary = document.getElementById("summary");
    if (summary) {
      summary.textContent = d.summary || "";
    }
    var live = document.getElementById("live");
    if (live) {
      live.textContent = "finished";
      live.className = "live done";
    }
    var retry = document.getElementById("retry-form");
    var cancel = document.getElementById("cancel-form");
    if (retry) {
      retry.hidden = false;
    }
    if (cancel) {
      cancel.hidden = true;
    }
  });
})();
