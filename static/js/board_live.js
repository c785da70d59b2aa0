// The sprint board's live region announces only what changed since the previous refresh: the
// figures (data-figure with a data-figure-label) are read before htmx swaps the board and compared
// after, and the differences alone go to #board-changes. A refresh that changes nothing says nothing.
(function () {
  "use strict";

  function figures(root) {
    const values = {};
    root.querySelectorAll("[data-figure][data-figure-label]").forEach(function (el) {
      values[el.dataset.figure] = { label: el.dataset.figureLabel, text: el.textContent.replace(/\s+/g, " ").trim() };
    });
    return values;
  }

  // Exposed for the browser test: the phrases announced for a change from `before` to `after`.
  function changes(before, after) {
    const said = [];
    Object.keys(after).forEach(function (key) {
      const was = before[key];
      const now = after[key];
      if (!was || was.text !== now.text) {
        said.push(now.label + ": " + now.text + (was ? " (was " + was.text + ")" : ""));
      }
    });
    return said;
  }
  window.taskhubBoardChanges = changes;

  let previous = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "board") {
      previous = figures(event.detail.target);
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    const board = event.detail.target;
    const region = document.getElementById("board-changes");
    if (!board || board.id !== "board" || !region || previous === null) {
      return;
    }
    const said = changes(previous, figures(board));
    previous = null;
    if (said.length) {
      region.textContent = said.join(". ") + ".";
    }
  });
})();
