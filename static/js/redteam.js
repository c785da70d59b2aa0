// The red-team workspace: a conversation with the project's model. A message is posted (the server
// records it and checks the budgets), then its reply is read from an EventSource as it streams
// (server-sent events: "delta" pieces, then "done" or "failure"). The server records everything;
// this script only shows it. No inline scripts (CSP): loaded through the task type's workspace_script.
(function () {
  "use strict";

  var form = document.getElementById("answer-form");
  var box = document.getElementById("conversation");
  if (!form || !box) { return; }

  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var turnsUrl = box.dataset.turnsUrl;
  var list = document.getElementById("turns");
  var empty = document.getElementById("no-turns");
  var message = document.getElementById("message");
  var send = document.getElementById("send-message");
  var status = document.getElementById("model-status");
  var left = document.getElementById("turns-left");
  var answering = false;

  function say(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("error", Boolean(isError));
  }

  function setAnswering(on) {
    answering = on;
    send.disabled = on;
    // workspace.js counts the time as active while the model answers.
    form.dataset.modelAnswering = on ? "true" : "";
  }

  function changed() { form.dispatchEvent(new Event("input", { bubbles: true })); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // The same markup as templates/work/answer/_turn.html.
  function render(turn, number) {
    var item = list.querySelector("[data-turn-id='" + turn.id + "']");
    var checked = item && item.querySelector("input[name=failing_turn]:checked");
    var fresh = el("li", "turn turn-" + turn.status);
    fresh.dataset.turnId = turn.id;
    number = number || turn.number;
    if (number) { fresh.dataset.number = number; }
    var prompt = el("div", "turn-prompt");
    prompt.appendChild(el("span", "who", "You"));
    prompt.appendChild(el("div", "turn-text", turn.prompt));
    var reply = el("div", "turn-reply");
    reply.appendChild(el("span", "who", "Model" + (turn.model ? " · " + turn.model : "")));
    reply.appendChild(el("div", "turn-text reply-text", turn.reply));
    var meta = el("p", "turn-meta muted");
    if (number) {
      var parts = ["Turn " + number];
      if (turn.latency_ms !== null && turn.latency_ms !== undefined) { parts.push(turn.latency_ms + " ms"); }
      if (turn.completion_tokens !== null && turn.completion_tokens !== undefined) {
        parts.push((turn.prompt_tokens === null ? "?" : turn.prompt_tokens) + " + " + turn.completion_tokens + " tokens");
      }
      meta.appendChild(document.createTextNode(parts.join(" · ")));
    }
    if (turn.error_message) { meta.appendChild(el("span", "turn-note" + (number ? "" : " error"), turn.error_message)); }
    fresh.appendChild(prompt);
    if (turn.status !== "failed") { fresh.appendChild(reply); }  // no reply came: only the note says why
    fresh.appendChild(meta);
    if (number) {
      var label = el("label", "failing");
      var radio = el("input");
      radio.type = "radio";
      radio.name = "failing_turn";
      radio.value = String(number);
      radio.checked = Boolean(checked);
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" The model failed here (turn " + number + ")"));
      fresh.appendChild(label);
    }
    if (item) { list.replaceChild(fresh, item); } else { list.appendChild(fresh); }
    if (empty) { empty.hidden = true; }
    fresh.scrollIntoView({ block: "nearest" });
    return fresh;
  }

  function ended(turn, note, isError) {
    setAnswering(false);
    if (turn && turn.status === "failed" && !message.value.trim()) {
      // No reply came: the message goes back into the box, ready to send again.
      message.value = turn.prompt;
      changed();
    }
    say(note, isError);
  }

  function recover(turnId, tries) {
    // The stream broke: ask the server what it recorded.
    fetch(turnsUrl + turnId + "/", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var turn = data.turn;
        if (!turn) { throw data; }
        render(turn);
        if (turn.status === "pending" && tries === 0) {
          // The stream never started: open it again (a turn is only ever sent once).
          stream(streamUrl(turnId), turn, 1);
          return;
        }
        if ((turn.status === "streaming" || turn.status === "pending") && tries < 30) {
          say("The connection to the model broke; checking what was recorded…");
          setTimeout(function () { recover(turnId, tries + 1); }, 2000);
          return;
        }
        if (turn.status === "done" || turn.status === "cut_off") {
          ended(turn, "Reply recorded (turn " + turn.number + ").");
        } else {
          ended(turn, turn.error_message || "The reply broke off. Send your message again.", true);
        }
      })
      .catch(function () {
        ended(null, "TaskHub cannot be reached (offline?). Your conversation is kept on the server; reload the page to see it.", true);
      });
  }

  function streamUrl(turnId) { return turnsUrl + turnId + "/stream/"; }

  function stream(url, turn, tries) {
    var item = render(turn);
    var replyText = item.querySelector(".reply-text");
    var text = "";
    var finished = false;
    var source = new EventSource(url);
    say("The model is answering…");
    source.addEventListener("delta", function (event) {
      text += JSON.parse(event.data).text;
      replyText.textContent = text;
    });
    source.addEventListener("done", function (event) {
      finished = true;
      source.close();
      var done = JSON.parse(event.data).turn;
      render(done);
      ended(done, done.error_message || ("Reply recorded (turn " + done.number + ")."), Boolean(done.error_message));
    });
    source.addEventListener("failure", function (event) {
      finished = true;
      source.close();
      var failure = JSON.parse(event.data);
      if (failure.turn) { render(failure.turn); }
      ended(failure.turn, failure.message, true);
    });
    source.onerror = function () {
      if (finished) { return; }
      finished = true;
      source.close();
      recover(turn.id, tries || 0);
    };
  }

  function sendMessage() {
    if (answering) { return; }
    var text = message.value.trim();
    if (!text) { say("Write a message first.", true); message.focus(); return; }
    setAnswering(true);
    say("Sending…");
    var body = new FormData();
    body.append("message", text);
    fetch(turnsUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw data; }
        return data;
      });
    }).then(function (data) {
      if (left) { left.dataset.left = String(Math.max(0, parseInt(left.dataset.left, 10) - 1)); left.textContent = left.dataset.left; }
      message.value = "";
      changed();
      stream(data.stream_url, data.turn);
    }).catch(function (problem) {
      setAnswering(false);
      say((problem && problem.detail) || "The message could not be sent (offline?). It is still in the box.", true);
    });
  }

  send.addEventListener("click", sendMessage);
  message.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      event.stopPropagation();  // here Ctrl+Enter sends the message, it does not submit the answer
      sendMessage();
    }
  });
  // No submit while a reply is coming: the answer is the recorded conversation, and it is not finished.
  document.addEventListener("submit", function (event) {
    if (answering && event.target === form) {
      event.preventDefault();
      event.stopImmediatePropagation();
      say("Wait for the model's reply before you submit.", true);
    }
  }, true);
  box.dataset.ready = "true";
}());
