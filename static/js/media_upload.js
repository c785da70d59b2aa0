// The media library's uploads: each chosen file is sent on its own request with a progress bar,
// and the server's verdict (checked by content) is shown beside it. Without this script the form
// posts every file at once.
(function () {
  "use strict";

  var form = document.getElementById("media-form");
  if (!form) { return; }
  var input = document.getElementById("media-files");
  var list = document.getElementById("media-uploads");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var maxBytes = parseInt(form.dataset.maxBytes, 10) || 0;

  function row(file) {
    var item = document.createElement("li");
    var name = document.createElement("span");
    name.textContent = file.name + " ";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var status = document.createElement("span");
    status.className = "muted upload-status";
    status.textContent = " waiting";
    item.append(name, bar, status);
    list.appendChild(item);
    return { item: item, bar: bar, status: status };
  }

  function upload(file, view) {
    return new Promise(function (resolve) {
      if (maxBytes && file.size > maxBytes) {
        view.status.textContent = " refused: larger than the " + maxBytes.toLocaleString() + " bytes accepted";
        view.item.classList.add("error");
        resolve(false);
        return;
      }
      var body = new FormData();
      body.append("file", file, file.name);
      var request = new XMLHttpRequest();
      request.open("POST", form.dataset.uploadUrl);
      request.setRequestHeader("X-CSRFToken", csrf);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          view.bar.value = Math.round(100 * event.loaded / event.total);
          view.status.textContent = " " + view.bar.value + "%";
        }
      });
      request.addEventListener("load", function () {
        var data = {};
        try { data = JSON.parse(request.responseText); } catch (e) { data = {}; }
        if (request.status === 201) {
          view.bar.value = 100;
          view.status.textContent = " added: " + data.format + ", " + data.width + " × " + data.height +
            (data.duration_seconds ? ", " + data.duration_seconds + " s at " + data.fps + " fps" : "");
          view.item.classList.add("done");
          resolve(true);
        } else {
          var message = (data.errors && data.errors[0] && data.errors[0].message) || data.detail ||
            ("refused (HTTP " + request.status + ")");
          view.status.textContent = " refused: " + message;
          view.item.classList.add("error");
          resolve(false);
        }
      });
      request.addEventListener("error", function () {
        view.status.textContent = " not sent (the connection failed); try again";
        view.item.classList.add("error");
        resolve(false);
      });
      view.status.textContent = " 0%";
      request.send(body);
    });
  }

  form.addEventListener("submit", function (event) {
    if (!input.files.length) { return; }
    event.preventDefault();
    var files = Array.prototype.slice.call(input.files);
    var views = files.map(row);
    var added = 0;
    // One after another: a large clip does not starve the others of bandwidth, and order is kept.
    files.reduce(function (chain, file, index) {
      return chain.then(function () {
        return upload(file, views[index]).then(function (ok) { if (ok) { added += 1; } });
      });
    }, Promise.resolve()).then(function () {
      input.value = "";
      form.dataset.done = String(added);
      if (added) {
        var note = document.createElement("li");
        var link = document.createElement("a");
        link.href = window.location.pathname;
        link.textContent = "Reload the list";
        note.append(added + " added. ", link);
        list.appendChild(note);
      }
    });
  });
  form.dataset.ready = "true";
}());
