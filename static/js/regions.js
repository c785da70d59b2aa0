// The image_regions workspace: draw boxes and polygons over the image with the mouse or the
// keyboard, move and resize them, label them, zoom and undo. The regions live in one hidden field
// as JSON (image pixel coordinates), so the draft autosave of workspace.js keeps them.
(function () {
  "use strict";

  var svg = document.getElementById("region-canvas");
  var form = document.getElementById("answer-form");
  var field = document.getElementById("regions-field");
  if (!svg || !form || !field) { return; }

  var NS = "http://www.w3.org/2000/svg";
  var W = parseFloat(svg.dataset.width), H = parseFloat(svg.dataset.height);
  var minSize = Math.max(1, parseFloat(svg.dataset.minSize) || 4);
  var layer = document.getElementById("region-layer");
  var list = document.getElementById("region-list");
  var labelChoice = document.getElementById("region-label-choice");
  var statusLine = document.getElementById("region-status");
  var arrowMode = document.getElementById("arrow-mode");
  var zoomLevel = document.getElementById("zoom-level");
  var nothing = document.getElementById("nothing-to-mark");
  var polygonButton = document.getElementById("tool-polygon");
  var boxButton = document.getElementById("tool-box");
  var labels = Array.prototype.map.call(labelChoice.options, function (o) { return o.value; });

  function parseJson(id, fallback) {
    var node = document.getElementById(id);
    try { return node ? JSON.parse(node.textContent) : fallback; } catch (e) { return fallback; }
  }
  var initial = parseJson("regions-initial", []);
  var regions = Array.isArray(initial) ? initial.filter(function (r) { return r && typeof r === "object"; }) : [];
  var serverErrors = parseJson("regions-errors", []) || [];

  var selected = regions.length ? 0 : -1;
  var tool = "box";
  var resizing = false;  // arrow keys resize instead of move
  var draftPolygon = null;  // points of a polygon being drawn
  var view = { x: 0, y: 0, w: W, h: H };
  var undoStack = [], redoStack = [];

  function say(text) { statusLine.textContent = text; }
  function round(v) { return Math.round(v * 10) / 10; }
  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
  function copy(value) { return JSON.parse(JSON.stringify(value)); }
  function name(i) { return "Region " + (i + 1) + " (" + regions[i].label + ")"; }
  function labelIndex(label) { return Math.max(0, labels.indexOf(label)) % 10; }

  function bounds(r) {
    if (r.shape === "polygon") {
      var xs = r.points.map(function (p) { return p[0]; }), ys = r.points.map(function (p) { return p[1]; });
      return { x: Math.min.apply(null, xs), y: Math.min.apply(null, ys),
               r: Math.max.apply(null, xs), b: Math.max.apply(null, ys) };
    }
    return { x: r.x, y: r.y, r: r.x + r.width, b: r.y + r.height };
  }

  // --- history --------------------------------------------------------------------------------
  function remember() {
    undoStack.push(copy({ regions: regions, selected: selected }));
    if (undoStack.length > 200) { undoStack.shift(); }
    redoStack = [];
  }
  function restore(from, to, what) {
    if (!from.length) { say("Nothing to " + what + "."); return; }
    to.push(copy({ regions: regions, selected: selected }));
    var state = from.pop();
    regions = state.regions;
    selected = Math.min(state.selected, regions.length - 1);
    changed();
    say(what === "undo" ? "Undone." : "Redone.");
  }

  // --- the hidden field and the drawing ------------------------------------------------------------
  function changed(quiet) {
    regions.forEach(function (r) {
      if (r.shape === "polygon") {
        r.points = r.points.map(function (p) { return [round(p[0]), round(p[1])]; });
      } else {
        r.x = round(r.x); r.y = round(r.y); r.width = round(r.width); r.height = round(r.height);
      }
    });
    if (regions.length && nothing.checked) { nothing.checked = false; }
    field.value = JSON.stringify(regions.map(function (r) {
      var out = r.shape === "polygon" ? { shape: "polygon", points: r.points } :
        { shape: "box", x: r.x, y: r.y, width: r.width, height: r.height };
      out.label = r.label;
      if (r.note) { out.note = r.note; }
      return out;
    }));
    if (!quiet) { field.dispatchEvent(new Event("input", { bubbles: true })); }  // the draft saves itself
    draw();
    drawList();
  }

  function el(tag, attrs) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function handle(x, y, corner, index) {
    var size = view.w / 90;
    return el("rect", { x: x - size / 2, y: y - size / 2, width: size, height: size, "class": "handle",
                        "data-corner": corner, "data-index": index });
  }

  function draw() {
    while (layer.firstChild) { layer.removeChild(layer.firstChild); }
    regions.forEach(function (r, i) {
      var cls = "region label-" + labelIndex(r.label) + (i === selected ? " selected" : "");
      var shape = r.shape === "polygon"
        ? el("polygon", { points: r.points.map(function (p) { return p.join(","); }).join(" ") })
        : el("rect", { x: r.x, y: r.y, width: r.width, height: r.height });
      shape.setAttribute("class", cls);
      shape.setAttribute("data-index", i);
      shape.setAttribute("vector-effect", "non-scaling-stroke");
      layer.appendChild(shape);
      var b = bounds(r);
      var tag = el("text", { x: b.x + view.w / 200, y: b.y - view.w / 200, "class": "region-tag label-" +
                             labelIndex(r.label), "font-size": view.w / 40 });
      tag.textContent = (i + 1) + " " + r.label;
      layer.appendChild(tag);
      if (i === selected) {
        if (r.shape === "polygon") {
          r.points.forEach(function (p, k) { layer.appendChild(handle(p[0], p[1], "p" + k, i)); });
        } else {
          layer.appendChild(handle(b.x, b.y, "nw", i));
          layer.appendChild(handle(b.r, b.y, "ne", i));
          layer.appendChild(handle(b.x, b.b, "sw", i));
          layer.appendChild(handle(b.r, b.b, "se", i));
        }
      }
    });
    if (draftPolygon) {
      layer.appendChild(el("polyline", { points: draftPolygon.map(function (p) { return p.join(","); }).join(" "),
                                         "class": "region drafting", "vector-effect": "non-scaling-stroke" }));
      draftPolygon.forEach(function (p, k) { layer.appendChild(handle(p[0], p[1], "d" + k, -1)); });
    }
    svg.dataset.count = String(regions.length);
  }

  function errorsFor(i) {
    var prefix = "regions." + i;
    return serverErrors.filter(function (e) {
      return e.field === prefix || (e.field && e.field.indexOf(prefix + ".") === 0);
    });
  }

  function drawList() {
    list.textContent = "";
    regions.forEach(function (r, i) {
      var item = document.createElement("li");
      item.className = "region-row label-" + labelIndex(r.label) + (i === selected ? " selected" : "");
      item.dataset.index = i;
      var title = document.createElement("button");
      title.type = "button";
      title.className = "link select-region";
      var b = bounds(r);
      title.textContent = (i + 1) + ". " + (r.shape === "polygon" ? "polygon, " + r.points.length + " points" :
        "box " + r.width + " × " + r.height) + " at " + round(b.x) + ", " + round(b.y);
      var label = document.createElement("select");
      label.setAttribute("aria-label", "Label of region " + (i + 1));
      labels.forEach(function (l) {
        var option = document.createElement("option");
        option.value = l; option.textContent = l; option.selected = l === r.label;
        label.appendChild(option);
      });
      label.addEventListener("change", function () { remember(); r.label = label.value; changed(); });
      var note = document.createElement("input");
      note.type = "text";
      note.maxLength = 1000;
      note.placeholder = "note (optional)";
      note.value = r.note || "";
      note.setAttribute("aria-label", "Note on region " + (i + 1));
      note.addEventListener("change", function () { remember(); r.note = note.value.trim(); changed(); });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link remove-region";
      remove.textContent = "Remove";
      remove.addEventListener("click", function () { removeRegion(i); });
      title.addEventListener("click", function () { select(i); });
      item.append(title, " ", label, " ", note, " ", remove);
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

  // --- operations --------------------------------------------------------------------------------
  function currentLabel() { return labelChoice.value || labels[0]; }
  function select(i) {
    selected = i;
    draw(); drawList();
    if (i >= 0) { say(name(i) + " selected."); }
  }
  function addBox(x, y, w, h) {
    remember();
    regions.push({ shape: "box", x: clamp(x, 0, W - w), y: clamp(y, 0, H - h), width: w, height: h,
                   label: currentLabel() });
    serverErrors = [];
    selected = regions.length - 1;
    changed();
    say(name(selected) + " added.");
  }
  function removeRegion(i) {
    if (i < 0 || i >= regions.length) { return; }
    remember();
    var gone = name(i);
    regions.splice(i, 1);
    serverErrors = [];
    selected = Math.min(i, regions.length - 1);
    changed();
    say(gone + " removed.");
  }
  function moveBy(r, dx, dy) {
    var b = bounds(r);
    dx = clamp(dx, -b.x, W - b.r);
    dy = clamp(dy, -b.y, H - b.b);
    if (r.shape === "polygon") {
      r.points = r.points.map(function (p) { return [p[0] + dx, p[1] + dy]; });
    } else {
      r.x += dx; r.y += dy;
    }
  }
  function resizeBy(r, dw, dh) {
    r.width = clamp(r.width + dw, minSize, W - r.x);
    r.height = clamp(r.height + dh, minSize, H - r.y);
  }
  function setLabel(label) {
    labelChoice.value = label;
    if (selected >= 0) {
      remember();
      regions[selected].label = label;
      changed();
      say(name(selected) + ": label " + label + ".");
    } else {
      say("Label for new regions: " + label + ".");
    }
  }
  function setTool(next) {
    tool = next;
    draftPolygon = null;
    boxButton.setAttribute("aria-pressed", String(next === "box"));
    if (polygonButton) { polygonButton.setAttribute("aria-pressed", String(next === "polygon")); }
    svg.classList.toggle("tool-polygon", next === "polygon");
    draw();
    say(next === "box" ? "Box mode: drag to draw." : "Polygon mode: click each corner, Enter to close.");
  }
  function closePolygon() {
    if (!draftPolygon || draftPolygon.length < 3) { say("A polygon needs at least 3 points."); return; }
    remember();
    regions.push({ shape: "polygon", points: draftPolygon, label: currentLabel() });
    draftPolygon = null;
    serverErrors = [];
    selected = regions.length - 1;
    changed();
    say(name(selected) + " added.");
  }

  // --- zoom --------------------------------------------------------------------------------------------
  function applyView() {
    svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
    zoomLevel.textContent = Math.round(100 * W / view.w) + "%";
    svg.dataset.zoom = String(W / view.w);
    draw();
  }
  function zoom(factor, cx, cy) {
    var w = clamp(view.w / factor, W / 16, W), h = w * H / W;
    cx = cx === undefined ? view.x + view.w / 2 : cx;
    cy = cy === undefined ? view.y + view.h / 2 : cy;
    var fx = (cx - view.x) / view.w, fy = (cy - view.y) / view.h;
    view = { x: clamp(cx - fx * w, 0, W - w), y: clamp(cy - fy * h, 0, H - h), w: w, h: h };
    applyView();
  }
  function pan(dx, dy) {
    view.x = clamp(view.x + dx, 0, W - view.w);
    view.y = clamp(view.y + dy, 0, H - view.h);
    applyView();
  }

  // --- mouse ------------------------------------------------------------------------------------------
  function point(event) {
    var p = svg.createSVGPoint();
    p.x = event.clientX; p.y = event.clientY;
    var q = p.matrixTransform(svg.getScreenCTM().inverse());
    return [clamp(q.x, 0, W), clamp(q.y, 0, H)];
  }
  var drag = null;
  svg.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) { return; }
    svg.focus();
    var at = point(event);
    var target = event.target;
    var index = target.dataset ? parseInt(target.dataset.index, 10) : NaN;
    if (tool === "polygon" && !(target.classList.contains("handle") && index >= 0)) {
      if (draftPolygon && draftPolygon.length >= 3) {
        var first = draftPolygon[0];
        if (Math.hypot(first[0] - at[0], first[1] - at[1]) < view.w / 60) { closePolygon(); return; }
      }
      draftPolygon = (draftPolygon || []).concat([at]);
      draw();
      say("Point " + draftPolygon.length + " at " + round(at[0]) + ", " + round(at[1]) + ".");
      return;
    }
    event.preventDefault();
    svg.setPointerCapture(event.pointerId);
    if (target.classList.contains("handle") && index >= 0) {
      remember();
      drag = { kind: "resize", corner: target.dataset.corner, index: index, from: at };
    } else if (target.classList.contains("region") && index >= 0) {
      selected = index;
      remember();
      drag = { kind: "move", index: index, from: at, moved: false };
      draw(); drawList();
    } else {
      drag = { kind: "draw", from: at, to: at };
    }
  });
  svg.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var at = point(event);
    if (drag.kind === "draw") {
      drag.to = at;
      draw();
      var x = Math.min(drag.from[0], at[0]), y = Math.min(drag.from[1], at[1]);
      layer.appendChild(el("rect", { x: x, y: y, width: Math.abs(at[0] - drag.from[0]),
                                     height: Math.abs(at[1] - drag.from[1]), "class": "region drafting",
                                     "vector-effect": "non-scaling-stroke" }));
      return;
    }
    var r = regions[drag.index];
    if (drag.kind === "move") {
      moveBy(r, at[0] - drag.from[0], at[1] - drag.from[1]);
      drag.from = at;
      drag.moved = true;
    } else if (drag.corner.charAt(0) === "p") {
      r.points[parseInt(drag.corner.slice(1), 10)] = at;
    } else {
      var b = bounds(r);
      var left = drag.corner.indexOf("w") >= 0 ? Math.min(at[0], b.r - minSize) : b.x;
      var right = drag.corner.indexOf("e") >= 0 ? Math.max(at[0], b.x + minSize) : b.r;
      var top = drag.corner.indexOf("n") >= 0 ? Math.min(at[1], b.b - minSize) : b.y;
      var bottom = drag.corner.indexOf("s") >= 0 ? Math.max(at[1], b.y + minSize) : b.b;
      r.x = left; r.y = top; r.width = right - left; r.height = bottom - top;
    }
    draw();
  });
  function endDrag() {
    if (!drag) { return; }
    var done = drag;
    drag = null;
    if (done.kind === "draw") {
      var w = Math.abs(done.to[0] - done.from[0]), h = Math.abs(done.to[1] - done.from[1]);
      if (w >= minSize && h >= minSize) {
        addBox(Math.min(done.from[0], done.to[0]), Math.min(done.from[1], done.to[1]), w, h);
      } else {
        select(-1);
        draw();
      }
      return;
    }
    if (done.kind === "move" && !done.moved) { undoStack.pop(); say(name(done.index) + " selected."); return; }
    serverErrors = [];
    changed();
    say(name(done.index) + (done.kind === "move" ? " moved." : " resized."));
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  svg.addEventListener("dblclick", function () { if (draftPolygon) { closePolygon(); } });
  svg.addEventListener("wheel", function (event) {
    event.preventDefault();
    var at = point(event);
    zoom(event.deltaY < 0 ? 1.25 : 0.8, at[0], at[1]);
  }, { passive: false });

  boxButton.addEventListener("click", function () { setTool("box"); });
  if (polygonButton) { polygonButton.addEventListener("click", function () { setTool("polygon"); }); }
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.5); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(1 / 1.5); });
  document.getElementById("zoom-fit").addEventListener("click", function () { view = { x: 0, y: 0, w: W, h: H }; applyView(); });
  document.getElementById("region-undo").addEventListener("click", function () { restore(undoStack, redoStack, "undo"); });
  document.getElementById("region-redo").addEventListener("click", function () { restore(redoStack, undoStack, "redo"); });
  labelChoice.addEventListener("change", function () { if (selected >= 0) { setLabel(labelChoice.value); } });
  nothing.addEventListener("change", function () {
    if (nothing.checked && regions.length) { say("Remove the regions first: 'nothing to mark' means none."); }
  });

  // --- keyboard ----------------------------------------------------------------------------------------
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
      } else if (key === "y") {
        event.preventDefault();
        restore(redoStack, undoStack, "redo");
      }
      return;
    }
    if (event.altKey) { return; }
    var step = event.shiftKey ? 10 : 1;
    var arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (arrows[key]) {
      event.preventDefault();
      var d = arrows[key];
      if (selected < 0) { pan(d[0] * step * view.w / 50, d[1] * step * view.h / 50); return; }
      var r = regions[selected];
      remember();
      if (resizing && r.shape !== "polygon") { resizeBy(r, d[0] * step, d[1] * step); } else { moveBy(r, d[0] * step, d[1] * step); }
      serverErrors = [];
      changed();
      var b = bounds(r);
      say(name(selected) + " at " + round(b.x) + ", " + round(b.y) + ", " + round(b.r - b.x) + " × " + round(b.b - b.y) + ".");
      return;
    }
    if (/^[1-9]$/.test(key)) {
      var n = parseInt(key, 10);
      if (n <= labels.length) { event.preventDefault(); setLabel(labels[n - 1]); }
      return;
    }
    switch (key) {
      case "l": case "L": {
        event.preventDefault();
        var now = selected >= 0 ? regions[selected].label : currentLabel();
        setLabel(labels[(labels.indexOf(now) + (key === "L" ? labels.length - 1 : 1)) % labels.length]);
        return;
      }
      case "n": {
        event.preventDefault();
        var w = Math.max(minSize, Math.round(view.w / 5)), h = Math.max(minSize, Math.round(view.h / 5));
        addBox(view.x + (view.w - w) / 2, view.y + (view.h - h) / 2, w, h);
        return;
      }
      case "]": case "[":
        event.preventDefault();
        if (regions.length) {
          var next = key === "]" ? selected + 1 : (selected < 0 ? regions.length - 1 : selected - 1);
          select((next + regions.length) % regions.length);
        }
        return;
      case "e":
        event.preventDefault();
        resizing = !resizing;
        arrowMode.textContent = resizing ? "resize" : "move";
        say("Arrow keys now " + (resizing ? "resize (right and down grow)" : "move") + " the selected region.");
        return;
      case "b": event.preventDefault(); setTool("box"); return;
      case "g": if (polygonButton) { event.preventDefault(); setTool("polygon"); } return;
      case "Enter": if (draftPolygon) { event.preventDefault(); closePolygon(); } return;
      case "Delete": case "Backspace": event.preventDefault(); removeRegion(selected); return;
      case "+": case "=": event.preventDefault(); zoom(1.5); return;
      case "-": case "_": event.preventDefault(); zoom(1 / 1.5); return;
      case "0": event.preventDefault(); view = { x: 0, y: 0, w: W, h: H }; applyView(); return;
      case "u": event.preventDefault(); restore(undoStack, redoStack, "undo"); return;
      case "Escape":
        if (draftPolygon) { draftPolygon = null; draw(); say("Polygon cancelled."); } else { select(-1); say("Nothing selected."); }
        return;
      default:
    }
  });

  changed(true);
  if (serverErrors.length) { say(serverErrors[0].message); }
  form.dataset.regionsReady = "true";
}());
