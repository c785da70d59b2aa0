// Live countdowns to announced releases. Each <time data-countdown datetime="ISO"> already
// shows the absolute time in the viewer's zone (so the page works without JavaScript);
// this keeps the ".countdown" element next to it ticking.
(function () {
  "use strict";

  function describe(ms) {
    if (ms <= 0) return "now";
    var minutes = Math.floor(ms / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var parts = [];
    if (days) parts.push(days + " d");
    if (days || hours) parts.push(hours + " h");
    if (days < 2) parts.push(mins + " min");
    if (!days && !hours && mins < 5) parts.push(Math.floor((ms % 60000) / 1000) + " s");
    return "in " + parts.join(" ");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var target = Date.parse(el.getAttribute("datetime"));
      var out = el.parentElement && el.parentElement.querySelector(".countdown");
      if (!out || isNaN(target)) return;
      out.textContent = describe(target - now);
    });
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
