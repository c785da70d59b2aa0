// Bar heights from data attributes: the Content Security Policy forbids inline style
// attributes, but styles set through the CSSOM from a same-origin script are allowed.
(function () {
  "use strict";
  document.querySelectorAll("[data-bar-percent]").forEach(function (el) {
    var percent = parseFloat(el.dataset.barPercent);
    if (!isNaN(percent)) { el.style.height = Math.max(0, Math.min(100, percent)) + "%"; }
  });
}());
