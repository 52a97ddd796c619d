// Chat playground: POSTs the conversation to /api/chat and renders the server-sent events as they arrive.
(function () {
  "use strict";
  var BASE = "/_emulator/console";
  var messages = [];
  var controller = null;

  function $(id) { return document.getElementById(id); }
  function bubble(role, text) {
    var div = document.createElement("div");
    div.className = "msg " + role;
    div.textContent = text;
    $("chat-log").appendChild(div);
    $("chat-log").scrollTop = $("chat-log").scrollHeight;
    return div;
  }
  function busy(on) {
    $("send").disabled = on;
    $("stop").disabled = !on;
  }
  function parseEvents(buffer, onEvent) {
    var parts = buffer.split("\n\n");
    var rest = parts.pop();
    parts.forEach(function (block) {
      var name = "message", data = "";
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event: ") === 0) name = line.slice(7);
        else if (line.indexOf("data: ") === 0) data += line.slice(6);
      });
      try { onEvent(name, data ? JSON.parse(data) : {}); } catch (e) { /* ignore a bad frame */ }
    });
    return rest;
  }
  function send(text) {
    messages.push({ role: "user", content: text });
    bubble("user", text);
    var out = bubble("assistant streaming", "");
    out.setAttribute("data-state", "streaming");
    var answer = "", started = performance.now(), first = null, tokens = 0;
    busy(true);
    controller = new AbortController();
    var body = {
      modelId: $("model").value, messages: messages, system: $("system").value,
      maxTokens: $("max-tokens").value, temperature: $("temperature").value
    };
    fetch(BASE + "/api/chat", {
      method: "POST", credentials: "same-origin", signal: controller.signal,
      headers: { "content-type": "application/json", "x-csrf-token": window.consoleCsrf() },
      body: JSON.stringify(body)
    }).then(function (resp) {
      if (!resp.ok) {
        return resp.json().then(function (err) { throw new Error((err.code || resp.status) + ": " + (err.message || "")); });
      }
      var reader = resp.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), function (name, data) {
            if (name === "token") {
              if (first === null) first = performance.now();
              tokens += 1;
              answer += data.text;
              out.textContent = answer;
              out.setAttribute("data-chunks", String(tokens));
              $("chat-log").scrollTop = $("chat-log").scrollHeight;
            } else if (name === "metadata" && data.usage) {
              var secs = (performance.now() - (first || started)) / 1000;
              var outTok = data.usage.outputTokens || tokens;
              $("chat-stats").textContent = "input " + data.usage.inputTokens + " tokens · output " + outTok + " tokens · first token after " +
                ((first || performance.now()) - started).toFixed(0) + " ms · " + (secs > 0 ? (outTok / secs).toFixed(1) : "–") + " tokens/s";
            } else if (name === "error") {
              throw new Error(data.code + ": " + data.message);
            }
          });
          return pump();
        });
      }
      return pump();
    }).then(function () {
      messages.push({ role: "assistant", content: answer || " " });
      out.className = "msg assistant";
      out.setAttribute("data-state", "done");
    }).catch(function (err) {
      out.className = "msg error";
      out.setAttribute("data-state", "error");
      out.textContent = (answer ? answer + "\n\n" : "") + (err.name === "AbortError" ? "(stopped)" : String(err.message || err));
      if (answer) messages.push({ role: "assistant", content: answer });
      else messages.pop();
    }).then(function () { busy(false); controller = null; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    $("chat-input").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = $("prompt").value.trim();
      if (!text || controller) return;
      $("prompt").value = "";
      send(text);
    });
    $("prompt").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("chat-input").requestSubmit(); }
    });
    $("stop").addEventListener("click", function () { if (controller) controller.abort(); });
    $("clear").addEventListener("click", function () { messages = []; $("chat-log").innerHTML = ""; $("chat-stats").textContent = ""; });
    $("chat-form").addEventListener("submit", function (ev) { ev.preventDefault(); });
  });
})();
