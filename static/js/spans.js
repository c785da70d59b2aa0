// The video_spans workspace: mark labelled time spans while the clip plays ([ and ] at the
// playhead, or by dragging on the timeline), step frame by frame, edit a span's ends, and box what a
// span is about on a key frame. The spans live in one hidden field as JSON, so the draft autosave of
// workspace.js keeps them.
(function () {
  "use strict";

  var video = document.getElementById("video-clip");
  var form = document.getElementById("answer-form");
  var field = document.getElementById("spans-field");
  if (!video || !form || !field) { return; }

  var NS = "http://www.w3.org/2000/svg";
  var duration = parseFloat(video.dataset.duration) || 1;
  var fps = parseFloat(video.dataset.fps) || 25;
  var frameW = parseFloat(video.dataset.width) || 320, frameH = parseFloat(video.dataset.height) || 180;
  var stage = document.getElementById("video-stage");
  var boxLayer = document.getElementById("box-layer");
  var timeline = document.getElementById("video-timeline");
  var list = document.getElementById("video-span-list");
  var labelChoice = document.getElementById("video-label-choice");
  var statusLine = document.getElementById("video-status");
  var timeOut = document.getElementById("video-time"), frameOut = document.getElementById("video-frame");
  var boxButton = document.getElementById("video-box");
  var nothing = document.getElementById("nothing-to-mark");
  var labels = Array.prototype.map.call(labelChoice.options, function (o) { return o.value; });

  function parseJson(id, fallback) {
    var node = document.getElementById(id);
    try { return node ? JSON.parse(node.textContent) : fallback; } catch (e) { return fallback; }
  }
  var initial = parseJson("spans-initial", []);
  var spans = Array.isArray(initial) ? initial.filter(function (s) { return s && typeof s === "object"; }) : [];
  var serverErrors = parseJson("spans-errors", []) || [];
  var selected = spans.length ? 0 : -1;
  var pending = null;  // a start marked with [ whose end is not yet
  var boxing = false;
  var undoStack = [], redoStack = [];

  function say(text) { statusLine.textContent = text; }
  function r3(v) { return Math.round(v * 1000) / 1000; }
  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
  function copy(v) { return JSON.parse(JSON.stringify(v)); }
  function now() { return r3(video.currentTime || 0); }
  function name(i) { var s = spans[i]; return "Span " + (i + 1) + " (" + s.label + ", " + s.start + "–" + s.end + " s)"; }
  function labelIndex(label) { return Math.max(0, labels.indexOf(label)) % 10; }
  function currentLabel() { return labelChoice.value || labels[0]; }

  function remember() {
    undoStack.push(copy({ spans: spans, selected: selected }));
    if (undoStack.length > 200) { undoStack.shift(); }
    redoStack = [];
  }
  function restore(from, to, what) {
    if (!from.length) { say("Nothing to " + what + "."); return; }
    to.push(copy({ spans: spans, selected: selected }));
    var state = from.pop();
    spans = state.spans;
    selected = Math.min(state.selected, spans.length - 1);
    changed();
    say(what === "undo" ? "Undone." : "Redone.");
  }

  function changed(quiet) {
    spans.forEach(function (s) { s.start = r3(s.start); s.end = r3(s.end); });
    if (spans.length && nothing.checked) { nothing.checked = false; }
    field.value = JSON.stringify(spans.map(function (s) {
      var out = { start: s.start, end: s.end, label: s.label };
      if (s.note) { out.note = s.note; }
      if (s.box) {
        out.box = { time: r3(s.box.time), x: Math.round(s.box.x), y: Math.round(s.box.y),
                    width: Math.round(s.box.width), height: Math.round(s.box.height) };
      }
      return out;
    }));
    if (!quiet) { field.dispatchEvent(new Event("input", { bubbles: true })); }
    drawTimeline();
    drawBox();
    drawList();
  }

  function el(tag, attrs) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function x(t) { return 1000 * clamp(t / duration, 0, 1); }

  function drawTimeline() {
    while (timeline.firstChild) { timeline.removeChild(timeline.firstChild); }
    spans.forEach(function (s, i) {
      var bar = el("rect", { x: x(s.start), y: 6 + (i % 3) * 2, width: Math.max(1, x(s.end) - x(s.start)), height: 26,
                             "class": "span-bar label-" + labelIndex(s.label) + (i === selected ? " selected" : ""),
                             "data-index": i });
      timeline.appendChild(bar);
      if (i === selected) {
        timeline.appendChild(el("rect", { x: x(s.start) - 3, y: 4, width: 6, height: 32, "class": "span-edge",
                                          "data-index": i, "data-edge": "start" }));
        timeline.appendChild(el("rect", { x: x(s.end) - 3, y: 4, width: 6, height: 32, "class": "span-edge",
                                          "data-index": i, "data-edge": "end" }));
      }
    });
    if (pending !== null) {
      timeline.appendChild(el("rect", { x: x(pending), y: 6, width: Math.max(1, x(now()) - x(pending)), height: 28,
                                        "class": "span-bar pending" }));
    }
    var head = x(video.currentTime || 0);
    timeline.appendChild(el("line", { x1: head, x2: head, y1: 0, y2: 40, "class": "playhead" }));
  }

  function drawBox() {
    while (boxLayer.firstChild) { boxLayer.removeChild(boxLayer.firstChild); }
    var s = spans[selected];
    if (!s || !s.box) { return; }
    var near = Math.abs((video.currentTime || 0) - s.box.time) < 0.5 / fps + 1e-3;
    boxLayer.appendChild(el("rect", { x: s.box.x, y: s.box.y, width: s.box.width, height: s.box.height,
                                      "class": "span-box label-" + labelIndex(s.label) + (near ? "" : " faded"),
                                      "vector-effect": "non-scaling-stroke" }));
  }

  function errorsFor(i) {
    var prefix = "spans." + i;
    return serverErrors.filter(function (e) { return e.field === prefix || (e.field && e.field.indexOf(prefix + ".") === 0); });
  }

  function drawList() {
    list.textContent = "";
    spans.forEach(function (s, i) {
      var item = document.createElement("li");
      item.className = "video-span-row label-" + labelIndex(s.label) + (i === selected ? " selected" : "");
      var title = document.createElement("button");
      title.type = "button";
      title.className = "link select-span";
      title.textContent = (i + 1) + ".";
      title.addEventListener("click", function () { select(i, true); });
      function number(which) {
        var input = document.createElement("input");
        input.type = "number"; input.step = "any"; input.min = "0"; input.max = String(duration);
        input.value = s[which];
        input.setAttribute("aria-label", (which === "start" ? "Start" : "End") + " of span " + (i + 1) + " (s)");
        input.addEventListener("change", function () {
          var v = parseFloat(input.value);
          if (isNaN(v)) { input.value = s[which]; return; }
          remember(); s[which] = clamp(v, 0, duration); serverErrors = []; changed();
        });
        return input;
      }
      var label = document.createElement("select");
      label.setAttribute("aria-label", "Label of span " + (i + 1));
      labels.forEach(function (l) {
        var option = document.createElement("option");
        option.value = l; option.textContent = l; option.selected = l === s.label;
        label.appendChild(option);
      });
      label.addEventListener("change", function () { remember(); s.label = label.value; changed(); });
      var note = document.createElement("input");
      note.type = "text"; note.maxLength = 1000; note.placeholder = "note (optional)"; note.value = s.note || "";
      note.setAttribute("aria-label", "Note on span " + (i + 1));
      note.addEventListener("change", function () { remember(); s.note = note.value.trim(); changed(); });
      var remove = document.createElement("button");
      remove.type = "button"; remove.className = "link remove-span-row"; remove.textContent = "Remove";
      remove.addEventListener("click", function () { removeSpan(i); });
      item.append(title, " ", number("start"), " – ", number("end"), " s ", label, " ", note,
                  s.box ? " ▣ box at " + s.box.time + " s " : " ", remove);
      errorsFor(i).forEach(function (e) {
        var problem = document.createElement("p");
        problem.className = "error region-error";
        problem.textContent = e.message;
        item.classList.add("invalid");
        item.appendChild(problem);
      });
      list.appendChild(item);
    });
  }

  // --- playback ----------------------------------------------------------------------------------
  function showTime() {
    timeOut.textContent = (video.currentTime || 0).toFixed(3);
    frameOut.textContent = String(Math.round((video.currentTime || 0) * fps));
    drawTimeline();
    drawBox();
  }
  video.addEventListener("timeupdate", showTime);
  video.addEventListener("seeked", showTime);
  function seek(t) { video.currentTime = clamp(t, 0, duration); showTime(); }
  function stepFrames(n) {
    video.pause();
    var frame = Math.round((video.currentTime || 0) * fps) + n;
    seek(clamp(frame, 0, Math.floor(duration * fps)) / fps);
    say("Frame " + Math.round(video.currentTime * fps) + " (" + video.currentTime.toFixed(3) + " s).");
  }
  function playPause() { if (video.paused) { video.play().catch(function () {}); } else { video.pause(); } }

  // --- spans ---------------------------------------------------------------------------------------
  function select(i, jump) {
    selected = i;
    if (jump && i >= 0) { seek(spans[i].start); }
    changed(true);
    if (i >= 0) { say(name(i) + " selected."); }
  }
  function addSpan(start, end) {
    remember();
    spans.push({ start: start, end: end, label: currentLabel() });
    spans.sort(function (a, b) { return a.start - b.start; });
    serverErrors = [];
    selected = spans.findIndex(function (s) { return s.start === start && s.end === end; });
    changed();
    say(name(selected) + " added.");
  }
  function removeSpan(i) {
    if (i < 0 || i >= spans.length) { return; }
    remember();
    var gone = name(i);
    spans.splice(i, 1);
    serverErrors = [];
    selected = Math.min(i, spans.length - 1);
    changed();
    say(gone + " removed.");
  }
  function markStart() {
    var t = now();
    if (video.paused && selected >= 0 && pending === null && spans[selected]) {
      // Paused with a span selected: [ moves its start here (Esc first to mark a new one).
      if (t >= spans[selected].end) { say("The start must come before the end (" + spans[selected].end + " s)."); return; }
      remember(); spans[selected].start = t; serverErrors = []; changed();
      say(name(selected) + ": start moved to " + t + " s.");
      return;
    }
    pending = t;
    drawTimeline();
    say("Start marked at " + t + " s (" + currentLabel() + "). Mark the end with ].");
  }
  function markEnd() {
    var t = now();
    if (pending !== null) {
      if (!(t > pending)) { say("The end must come after the start (" + pending + " s)."); return; }
      var start = pending;
      pending = null;
      addSpan(start, t);
      return;
    }
    if (selected >= 0 && spans[selected]) {
      if (t <= spans[selected].start) { say("The end must come after the start (" + spans[selected].start + " s)."); return; }
      remember(); spans[selected].end = t; serverErrors = []; changed();
      say(name(selected) + ": end moved to " + t + " s.");
      return;
    }
    say("Mark a start first ([ or the Start here button).");
  }
  function setLabel(label) {
    labelChoice.value = label;
    if (selected >= 0) {
      remember(); spans[selected].label = label; changed();
      say(name(selected) + ": label " + label + ".");
    } else {
      say("Label for new spans: " + label + ".");
    }
  }
  function setBoxing(on) {
    if (on && selected < 0) { say("Select or mark a span first; its box goes on a frame inside it."); return; }
    boxing = on && !!boxButton;
    stage.classList.toggle("boxing", boxing);
    if (boxButton) { boxButton.setAttribute("aria-pressed", String(boxing)); }
    if (boxing) {
      video.pause();
      var s = spans[selected];
      if (!(now() >= s.start && now() <= s.end)) { seek(s.start); }
      if (!s.box) {
        remember();
        s.box = { time: now(), x: frameW * 0.375, y: frameH * 0.375, width: frameW / 4, height: frameH / 4 };
        changed();
      }
      say("Box on the frame at " + s.box.time + " s: drag on the picture to draw it, arrows move it; Esc when done.");
    } else {
      say("Back to frames.");
    }
  }
  function moveBox(dx, dy) {
    var s = spans[selected];
    if (!s || !s.box) { return; }
    remember();
    s.box.x = clamp(s.box.x + dx, 0, frameW - s.box.width);
    s.box.y = clamp(s.box.y + dy, 0, frameH - s.box.height);
    changed();
    say("Box at " + Math.round(s.box.x) + ", " + Math.round(s.box.y) + ".");
  }

  // --- mouse: the timeline and the box layer ---------------------------------------------------
  function timeAt(event) {
    var rect = timeline.getBoundingClientRect();
    return r3(clamp((event.clientX - rect.left) / rect.width, 0, 1) * duration);
  }
  var drag = null;
  timeline.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) { return; }
    event.preventDefault();
    timeline.setPointerCapture(event.pointerId);
    var t = timeAt(event);
    var index = parseInt(event.target.dataset ? event.target.dataset.index : "", 10);
    if (event.target.classList.contains("span-edge")) {
      remember();
      drag = { kind: "edge", index: index, edge: event.target.dataset.edge };
    } else if (event.target.classList.contains("span-bar") && index >= 0) {
      drag = { kind: "pick", index: index, from: t };
    } else {
      drag = { kind: "new", from: t, to: t };
    }
  });
  timeline.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var t = timeAt(event);
    if (drag.kind === "edge") {
      var s = spans[drag.index], gap = 1 / fps;
      if (drag.edge === "start") { s.start = clamp(t, 0, s.end - gap); } else { s.end = clamp(t, s.start + gap, duration); }
      drawTimeline();
    } else if (drag.kind === "new") {
      drag.to = t;
      pending = Math.min(drag.from, t);
      drawTimeline();
      var draft = timeline.querySelector(".pending");
      if (draft) { draft.setAttribute("x", x(Math.min(drag.from, t))); draft.setAttribute("width", Math.abs(x(t) - x(drag.from))); }
    }
  });
  function endDrag(event) {
    if (!drag) { return; }
    var done = drag;
    drag = null;
    if (done.kind === "edge") { serverErrors = []; changed(); say(name(done.index) + " changed."); return; }
    if (done.kind === "pick") { select(done.index, false); seek(timeAt(event)); return; }
    pending = null;
    var start = Math.min(done.from, done.to), end = Math.max(done.from, done.to);
    if (end - start >= 2 / fps) { addSpan(start, end); } else { seek(done.from); drawTimeline(); }
  }
  timeline.addEventListener("pointerup", endDrag);
  timeline.addEventListener("pointercancel", function () { drag = null; pending = null; drawTimeline(); });

  var boxDrag = null;
  function framePoint(event) {
    var p = boxLayer.createSVGPoint();
    p.x = event.clientX; p.y = event.clientY;
    var q = p.matrixTransform(boxLayer.getScreenCTM().inverse());
    return [clamp(q.x, 0, frameW), clamp(q.y, 0, frameH)];
  }
  boxLayer.addEventListener("pointerdown", function (event) {
    if (!boxing || event.button !== 0) { return; }
    event.preventDefault();
    boxLayer.setPointerCapture(event.pointerId);
    remember();
    boxDrag = { from: framePoint(event) };
  });
  boxLayer.addEventListener("pointermove", function (event) {
    if (!boxDrag) { return; }
    var at = framePoint(event), f = boxDrag.from, s = spans[selected];
    s.box = { time: now(), x: Math.min(f[0], at[0]), y: Math.min(f[1], at[1]),
              width: Math.max(1, Math.abs(at[0] - f[0])), height: Math.max(1, Math.abs(at[1] - f[1])) };
    drawBox();
  });
  boxLayer.addEventListener("pointerup", function () {
    if (!boxDrag) { return; }
    boxDrag = null;
    serverErrors = [];
    changed();
    var b = spans[selected].box;
    say("Box drawn on the frame at " + b.time + " s: " + Math.round(b.width) + " × " + Math.round(b.height) + ".");
  });

  document.getElementById("video-play").addEventListener("click", playPause);
  document.getElementById("frame-back").addEventListener("click", function () { stepFrames(-1); });
  document.getElementById("frame-forward").addEventListener("click", function () { stepFrames(1); });
  document.getElementById("video-mark-start").addEventListener("click", markStart);
  document.getElementById("video-mark-end").addEventListener("click", markEnd);
  if (boxButton) { boxButton.addEventListener("click", function () { setBoxing(!boxing); }); }
  labelChoice.addEventListener("change", function () { if (selected >= 0) { setLabel(labelChoice.value); } });

  // --- keyboard ----------------------------------------------------------------------------------
  function typing(target) {
    var tag = target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && !/^(radio|checkbox|button|submit)$/.test(target.type)) || target.isContentEditable;
  }
  document.addEventListener("keydown", function (event) {
    if (typing(event.target)) { return; }
    var key = event.key;
    if (event.ctrlKey || event.metaKey) {
      if (key === "z" || key === "Z") {
        event.preventDefault();
        if (event.shiftKey) { restore(redoStack, undoStack, "redo"); } else { restore(undoStack, redoStack, "undo"); }
      } else if (key === "y") { event.preventDefault(); restore(redoStack, undoStack, "redo"); }
      return;
    }
    if (event.altKey) { return; }
    var step = event.shiftKey ? 10 : 1;
    if (boxing && /^Arrow/.test(key)) {
      event.preventDefault();
      var d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[key];
      moveBox(d[0] * step, d[1] * step);
      return;
    }
    if (key === "ArrowLeft" || key === "ArrowRight" || key === "," || key === "." || key === "<" || key === ">") {
      event.preventDefault();
      var back = key === "ArrowLeft" || key === "," || key === "<";
      stepFrames((back ? -1 : 1) * (event.shiftKey ? 10 : 1));
      return;
    }
    if (/^[1-9]$/.test(key)) {
      var n = parseInt(key, 10);
      if (n <= labels.length) { event.preventDefault(); setLabel(labels[n - 1]); }
      return;
    }
    switch (key) {
      case "p": case "k": event.preventDefault(); playPause(); return;
      case "[": event.preventDefault(); markStart(); return;
      case "]": event.preventDefault(); markEnd(); return;
      case "l": case "L": {
        event.preventDefault();
        var cur = selected >= 0 ? spans[selected].label : currentLabel();
        setLabel(labels[(labels.indexOf(cur) + (key === "L" ? labels.length - 1 : 1)) % labels.length]);
        return;
      }
      case "n": case "N":
        event.preventDefault();
        if (spans.length) {
          var next = key === "n" ? selected + 1 : (selected < 0 ? spans.length - 1 : selected - 1);
          select((next + spans.length) % spans.length, true);
        }
        return;
      case "b": if (boxButton) { event.preventDefault(); setBoxing(!boxing); } return;
      case "Escape":
        if (boxing) { setBoxing(false); } else if (pending !== null) { pending = null; drawTimeline(); say("Start cancelled."); } else { select(-1); }
        return;
      case "Delete": case "Backspace": event.preventDefault(); removeSpan(selected); return;
      case "u": event.preventDefault(); restore(undoStack, redoStack, "undo"); return;
      default:
    }
  });

  changed(true);
  if (serverErrors.length) { say(serverErrors[0].message); }
  form.dataset.spansReady = "true";
}());
