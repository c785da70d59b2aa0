// The task workspace: draft autosave, heartbeats while visible and in use, the active-time
// clock, the deadline countdown and keyboard shortcuts. No inline scripts (CSP friendly).
(function () {
  "use strict";

  var form = document.getElementById("answer-form");
  if (!form) { return; }

  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var draftUrl = form.dataset.draftUrl;
  var heartbeatUrl = form.dataset.heartbeatUrl;
  var interval = Math.max(5, parseInt(form.dataset.heartbeatSeconds, 10) || 30) * 1000;
  var taskType = form.dataset.taskType;
  var clock = document.getElementById("active-clock");
  var draftStatus = document.getElementById("draft-status");
  var deadlineLeft = document.getElementById("deadline-left");

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw data; }
        return data;
      });
    });
  }

  // --- activity: the clock counts while the page is visible and focused, reading included, until
  // the project's idle limit passes without input (then it pauses and says why) ----------------
  var lastActivity = Date.now();
  var focused = document.hasFocus();
  var audio = document.querySelector("audio, video");  // playing counts as active
  var clockState = document.getElementById("clock-state");
  function idleLimit() { return Math.max(1, parseInt(form.dataset.idleSeconds, 10) || 300) * 1000; }
  ["keydown", "pointerdown", "pointermove", "wheel", "input", "scroll"].forEach(function (name) {
    window.addEventListener(name, function () { wake(); }, { passive: true, capture: true });
  });
  window.addEventListener("focus", function () { focused = true; wake(); });
  window.addEventListener("blur", function () { focused = false; showState(); });
  // Why the clock is not counting now ("" when it is).
  function pauseReason() {
    if (stopped) { return "stopped"; }
    if (document.visibilityState !== "visible") { return "hidden"; }
    if (!focused) { return "unfocused"; }
    // Listening to a clip, or waiting for the model's reply (redteam.js), is work too.
    var listening = (audio && !audio.paused) || form.dataset.modelAnswering === "true";
    if (!listening && Date.now() - lastActivity >= idleLimit()) { return "idle"; }
    return "";
  }
  function isActive() { return pauseReason() === ""; }
  var REASONS = {
    hidden: "Paused: this tab is hidden.",
    unfocused: "Paused: another window has the focus.",
    stopped: "Stopped.",
    idle: null
  };
  var shownReason = null;
  function showState() {
    var reason = pauseReason();
    if (reason === shownReason) { return; }
    shownReason = reason;
    if (clock) { clock.classList.toggle("paused", reason !== ""); }
    if (!clockState) { return; }
    var minutes = Math.round(idleLimit() / 60000);
    clockState.dataset.state = reason || "counting";
    clockState.textContent = reason === "" ? "Counting." :
      reason === "idle" ? "Paused: no input for " + (minutes >= 1 ? minutes + " minute" + (minutes === 1 ? "" : "s") :
        Math.round(idleLimit() / 1000) + " seconds") + ". Type, click or scroll to go on." : REASONS[reason];
  }
  function wake() {
    var wasIdle = pauseReason() === "idle";
    lastActivity = Date.now();
    if (wasIdle) { showState(); beat(); }
  }

  // --- active-time clock ------------------------------------------------------------------
  var activeSeconds = parseInt(clock ? clock.dataset.activeSeconds : "0", 10) || 0;
  function format(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  // --- heartbeats: the server measures the time; nothing we send is trusted ----------------
  var stopped = false;
  function beat() {
    if (stopped || !isActive()) { return; }
    post(heartbeatUrl, new FormData()).then(function (data) {
      activeSeconds = data.active_seconds;
      if (clock) { clock.textContent = format(activeSeconds); }
    }).catch(function (problem) {
      if (problem && problem.code && problem.code.indexOf("claim") === 0) {
        stopped = true;
        showState();
        if (draftStatus) { draftStatus.textContent = problem.detail || "This task is no longer active."; }
      }
    });
  }
  beat();
  setInterval(beat, interval);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { lastActivity = Date.now(); beat(); }
    showState();
  });
  window.addEventListener("focus", beat);

  // Tick the clock locally between beats while it counts; show when and why it pauses.
  setInterval(function () {
    showState();
    if (isActive()) {
      activeSeconds += 1;
      if (clock) { clock.textContent = format(activeSeconds); }
    }
    if (deadlineLeft) {
      var left = Math.max(0, Math.floor((Date.parse(deadlineLeft.dataset.deadline) - Date.now()) / 1000));
      deadlineLeft.textContent = left ? format(left) : "no time";
      deadlineLeft.classList.toggle("urgent", left < 300);
    }
  }, 1000);
  showState();

  // --- drafts -------------------------------------------------------------------------------
  var draftTimer = null;
  var dirty = false;
  function saveDraft() {
    draftTimer = null;
    if (!dirty || stopped) { return; }
    dirty = false;
    var body = new FormData(form);
    body.delete("csrfmiddlewaretoken");
    post(draftUrl, body).then(function (data) {
      if (draftStatus) {
        var at = new Date(data.saved_at);
        draftStatus.textContent = "draft saved " + at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      }
    }).catch(function (problem) {
      dirty = true;
      if (draftStatus) { draftStatus.textContent = (problem && problem.detail) || "draft not saved (offline?)"; }
    });
  }
  function draftSoon() {
    dirty = true;
    if (draftStatus) { draftStatus.textContent = "saving…"; }
    if (draftTimer) { clearTimeout(draftTimer); }
    draftTimer = setTimeout(saveDraft, 1200);
  }
  form.addEventListener("input", draftSoon);
  form.addEventListener("change", draftSoon);
  window.addEventListener("pagehide", function () {
    if (dirty && navigator.sendBeacon) {
      var body = new FormData(form);
      navigator.sendBeacon(draftUrl, body);
    }
  });
  form.addEventListener("submit", function () { dirty = false; stopped = true; showState(); });

  // --- keyboard -----------------------------------------------------------------------------
  function typing(target) {
    var tag = target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && !/^(radio|checkbox|button|submit)$/.test(target.type)) || target.isContentEditable;
  }
  function check(name, value) {
    var input = form.querySelector("input[name=" + name + "][value=" + value + "]");
    if (input) { input.checked = true; input.dispatchEvent(new Event("change", { bubbles: true })); }
  }

  // 1–5 scores are radio groups styled as buttons (arrow keys move within one, as for any radios).
  function scoreGroups() { return Array.prototype.slice.call(form.querySelectorAll("[data-score-group]")); }
  function scoreEmpty() {
    return scoreGroups().find(function (g) { return !g.querySelector("input[data-score]:checked"); });
  }
  function scoreSet(group, value) {
    var input = group.querySelector("input[data-score][value='" + value + "']");
    if (input) { input.checked = true; input.dispatchEvent(new Event("change", { bubbles: true })); }
  }
  function scoreFocusNext(group) {
    var next = scoreEmpty();
    if (next) {
      (next.querySelector("input[data-score]")).focus();
    } else {
      var text = form.querySelector("textarea");
      (text || group.querySelector("input[data-score]:checked")).focus();
    }
  }

  var pairwiseStep = "choice";
  var choices = { "1": "A", "2": "B", "3": "tie" };
  var strengths = { "1": "slight", "2": "clear", "3": "strong" };

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      if (form.reportValidity()) { form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    // On a score's buttons a digit is the score: set it and move on to the next empty score.
    var group = event.target.closest && event.target.closest("[data-score-group]");
    if (group && /^[1-5]$/.test(event.key)) {
      event.preventDefault();
      scoreSet(group, event.key);
      scoreFocusNext(group);
      return;
    }
    if (typing(event.target)) { return; }

    if (taskType === "pairwise" && choices[event.key]) {
      event.preventDefault();
      if (pairwiseStep === "choice") {
        check("choice", choices[event.key]);
        pairwiseStep = "strength";
      } else {
        check("strength", strengths[event.key]);
        pairwiseStep = "choice";
        var reason = document.getElementById("reason");
        if (reason && !reason.value) { reason.focus(); }
      }
      return;
    }
    if ((taskType === "rating" || taskType === "creative_eval") && /^[1-5]$/.test(event.key)) {
      var empty = scoreEmpty();
      if (empty) {
        event.preventDefault();
        scoreSet(empty, event.key);
        scoreFocusNext(empty);
      }
      return;
    }
    if (taskType === "audio_timestamp" && audio) {
      if (event.key === "[") { event.preventDefault(); markStart(); return; }
      if (event.key === "]") { event.preventDefault(); markEnd(); return; }
      if (event.key === "p" || event.key === "k") {
        event.preventDefault();
        if (audio.paused) { audio.play().catch(function () {}); } else { audio.pause(); }
        return;
      }
      if (/^[1-9]$/.test(event.key) && labelChoice && labelChoice.options.length >= parseInt(event.key, 10)) {
        event.preventDefault();
        labelChoice.selectedIndex = parseInt(event.key, 10) - 1;
        say("Label: " + labelChoice.value);
      }
    }
  });

  // --- audio: span rows, marked at the playhead by keyboard or mouse ------------------------
  var spans = document.getElementById("spans");
  var rowTemplate = document.getElementById("span-row-template");
  var addSpan = document.getElementById("add-span");
  var labelChoice = document.getElementById("span-label-choice");
  var markStatus = document.getElementById("mark-status");
  var playhead = document.getElementById("playhead");
  var pending = null;  // the row whose start is marked and whose end is not yet

  function say(text) { if (markStatus) { markStatus.textContent = text; } }
  function changed(input) { input.dispatchEvent(new Event("input", { bubbles: true })); }
  function field(row, name) { return row.querySelector("[name=" + name + "]"); }
  function newRow() {
    var row = rowTemplate.content.firstElementChild.cloneNode(true);
    spans.insertBefore(row, addSpan);
    return row;
  }
  function emptyRow() {
    var rows = spans.querySelectorAll(".span-row");
    var found = Array.prototype.find.call(rows, function (r) {
      return !field(r, "span_start").value && !field(r, "span_end").value;
    });
    return found || newRow();
  }
  function markStart() {
    if (!audio || !spans) { return; }
    if (pending) { pending.classList.remove("pending"); }
    pending = emptyRow();
    var at = audio.currentTime.toFixed(2);
    field(pending, "span_start").value = at;
    if (labelChoice && labelChoice.value) { field(pending, "span_label").value = labelChoice.value; }
    pending.classList.add("pending");
    changed(field(pending, "span_start"));
    say("Start marked at " + at + " s" + (labelChoice ? " (" + labelChoice.value + ")" : "") +
        ". Mark the end with ] or the Mark end button.");
  }
  function markEnd() {
    if (!audio || !spans) { return; }
    if (!pending) { say("Mark a start first ([ or the Mark start button)."); return; }
    var start = parseFloat(field(pending, "span_start").value);
    var at = audio.currentTime;
    if (!(at > start)) { say("The end must come after the start (" + start.toFixed(2) + " s)."); return; }
    field(pending, "span_end").value = at.toFixed(2);
    pending.classList.remove("pending");
    changed(field(pending, "span_end"));
    say("Span " + start.toFixed(2) + "–" + at.toFixed(2) + " s added.");
    pending = null;
  }
  if (spans && rowTemplate) {
    document.getElementById("mark-start").addEventListener("click", markStart);
    document.getElementById("mark-end").addEventListener("click", markEnd);
    addSpan.addEventListener("click", function () {
      var row = newRow();
      field(row, "span_start").focus();
    });
    spans.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-span");
      if (!button) { return; }
      var row = button.closest(".span-row");
      if (row === pending) { pending = null; }
      row.remove();
      if (!spans.querySelector(".span-row")) { newRow(); }
      form.dispatchEvent(new Event("change"));
      say("Span removed.");
    });
    if (audio && playhead) {
      var show = function () { playhead.textContent = audio.currentTime.toFixed(2); };
      audio.addEventListener("timeupdate", show);
      audio.addEventListener("seeked", show);
    }
  }
  // --- errors at their fields: each message goes next to its own field, which says it is invalid;
  // the first one (here or in the release and report forms) gets the focus --------------------
  var problemList = document.getElementById("answer-errors");
  if (problemList) {
    Array.prototype.slice.call(problemList.querySelectorAll("li[data-for]")).forEach(function (item) {
      var input = form.querySelector("[name='" + item.dataset.for + "']");
      if (!input) { return; }
      var place = input.closest("fieldset, .field");
      var note = document.createElement("p");
      note.className = "field-error";
      note.id = item.id;
      note.textContent = item.textContent;
      if (place) { place.appendChild(note); } else { input.parentNode.insertBefore(note, input.nextSibling); }
      form.querySelectorAll("[name='" + item.dataset.for + "']").forEach(function (el) {
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-describedby", note.id);
      });
      item.remove();
    });
    if (!problemList.children.length) { problemList.remove(); }
  }
  var firstInvalid = document.querySelector("[aria-invalid='true']");
  if (firstInvalid) {
    var checked = firstInvalid.type === "radio" &&
      document.querySelector("[name='" + firstInvalid.name + "']:checked");
    (checked || firstInvalid).focus();
  }

  // Shortcuts work from here on (browser tests wait for this before pressing keys).
  form.dataset.ready = "true";
}());
