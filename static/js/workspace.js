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

  // --- activity: recent input while the page is visible ---------------------------------
  var lastActivity = Date.now();
  var audio = document.querySelector("audio");
  ["keydown", "pointerdown", "pointermove", "wheel", "input", "scroll"].forEach(function (name) {
    window.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true, capture: true });
  });
  function isActive() {
    var listening = audio && !audio.paused;
    return document.visibilityState === "visible" && (listening || Date.now() - lastActivity < interval);
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
        if (draftStatus) { draftStatus.textContent = problem.detail || "This task is no longer active."; }
      }
    });
  }
  beat();
  setInterval(beat, interval);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { lastActivity = Date.now(); beat(); }
  });

  // Tick the clock locally between beats while the person is active.
  setInterval(function () {
    if (!stopped && isActive()) {
      activeSeconds += 1;
      if (clock) { clock.textContent = format(activeSeconds); }
    }
    if (deadlineLeft) {
      var left = Math.max(0, Math.floor((Date.parse(deadlineLeft.dataset.deadline) - Date.now()) / 1000));
      deadlineLeft.textContent = left ? format(left) : "no time";
      deadlineLeft.classList.toggle("urgent", left < 300);
    }
  }, 1000);

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
  form.addEventListener("submit", function () { dirty = false; stopped = true; });

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

  var pairwiseStep = "choice";
  var choices = { "1": "A", "2": "B", "3": "tie" };
  var strengths = { "1": "slight", "2": "clear", "3": "strong" };

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      if (form.reportValidity()) { form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }

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
      var empty = Array.prototype.find.call(form.querySelectorAll("input[data-score]"), function (i) { return !i.value; });
      if (empty) {
        event.preventDefault();
        empty.value = event.key;
        empty.dispatchEvent(new Event("input", { bubbles: true }));
        var next = Array.prototype.find.call(form.querySelectorAll("input[data-score]"), function (i) { return !i.value; });
        (next || form.querySelector("textarea") || empty).focus();
      }
      return;
    }
    if (taskType === "audio_timestamp" && audio && (event.key === "[" || event.key === "]")) {
      event.preventDefault();
      var field = event.key === "[" ? "span_start" : "span_end";
      var inputs = form.querySelectorAll("input[name=" + field + "]");
      var target = Array.prototype.find.call(inputs, function (i) { return !i.value; });
      if (target) {
        target.value = audio.currentTime.toFixed(2);
        target.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }
  });

  // --- audio: more span rows ------------------------------------------------------------------
  var addSpan = document.getElementById("add-span");
  if (addSpan) {
    addSpan.addEventListener("click", function () {
      var rows = form.querySelectorAll(".span-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      copy.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
      addSpan.parentNode.insertBefore(copy, addSpan);
    });
  }
}());
