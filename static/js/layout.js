// Layout helpers of every page. The site menu on a narrow screen: one button (Menu) shows and hides it, aria-expanded says which;
// Escape closes it and gives the focus back to the button. No framework; without this file the
// menu simply stays open.
(function () {
  "use strict";
  var button = document.querySelector(".menu-toggle");
  var menu = document.getElementById("site-menu");
  if (!button || !menu) return;
  document.documentElement.classList.add("has-menu-js");
  button.hidden = false;

  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  }

  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      set(false);
      button.focus();
    }
  });
})();

// A wide table scrolls inside its card on a narrow screen (app.css); one that does can be
// scrolled from the keyboard too (it takes the focus).
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll("main table").forEach(function (table) {
      var scrolls = table.scrollWidth > table.clientWidth + 1;
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.dataset.scrollable = "1";
      } else if (!scrolls && table.dataset.scrollable) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollable;
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
