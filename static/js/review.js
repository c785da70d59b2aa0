// Keyboard-driven grading: 1–5 sets the overall grade, then each rubric mark in turn;
// "r" jumps to the reason, which becomes required for grades 1 and 2; Ctrl+Enter saves.
(function () {
  "use strict";

  var form = document.getElementById("grade-form");
  var nextLink = document.getElementById("next-item");
  if (!form) {
    if (nextLink) { nextLink.focus(); }
    return;
  }
  var reason = document.getElementById("reason");
  var hint = document.getElementById("reason-hint");
  var minimum = parseInt(form.dataset.reasonMin, 10) || 20;
  var groups = ["score"];
  form.querySelectorAll("fieldset.rubric-mark input[type=radio]").forEach(function (input) {
    if (groups.indexOf(input.name) < 0) { groups.push(input.name); }
  });

  function selected(name) {
    var input = form.querySelector("input[name='" + name + "']:checked");
    return input ? input.value : "";
  }
  function updateReasonRule() {
    var score = parseInt(selected("score"), 10);
    var needed = score === 1 || score === 2;
    reason.required = needed;
    reason.minLength = needed ? minimum : 0;
    hint.textContent = needed
      ? "(required for a grade of " + score + ": at least " + minimum + " characters; the contractor reads it)"
      : "(optional for 3–5; required for 1 and 2)";
    hint.classList.toggle("error", needed && reason.value.trim().length < minimum);
  }
  form.addEventListener("change", updateReasonRule);
  reason.addEventListener("input", updateReasonRule);
  updateReasonRule();

  function typing(target) {
    var tag = target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "radio");
  }

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      if (form.reportValidity()) { form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "r") {
      event.preventDefault();
      reason.focus();
      return;
    }
    if (/^[1-5]$/.test(event.key)) {
      event.preventDefault();
      // The first group without a value, or the overall grade again once all are set.
      var name = groups.find(function (g) { return !selected(g); }) || "score";
      var input = form.querySelector("input[name='" + name + "'][value='" + event.key + "']");
      if (input) {
        input.checked = true;
        input.focus();
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
      var remaining = groups.find(function (g) { return !selected(g); });
      if (!remaining && reason.required && reason.value.trim().length < minimum) { reason.focus(); }
    }
  });
}());
