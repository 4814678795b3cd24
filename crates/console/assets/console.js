// sfn console: the side panel (click or Enter on a state of the graph), live updates of a running
// execution (a long poll of `…/live`) and the Stop button. Everything else is rendered by the server.
"use strict";
(function () {
  const root = document.getElementById("execution");
  if (!root) return;
  const base = "/executions/" + encodeURIComponent(root.dataset.execution);
  let selected = new URLSearchParams(location.search).get("state");

  function mark() {
    const current = selected || (document.getElementById("panel") || {}).dataset?.state;
    document.querySelectorAll("#graph g.state").forEach(function (g) {
      const on = g.dataset.state === current;
      g.classList.toggle("selected", on);
      g.setAttribute("role", "button");
      g.setAttribute("aria-pressed", on ? "true" : "false");
      if (!g.hasAttribute("aria-label")) g.setAttribute("aria-label", "State " + g.dataset.state);
    });
  }

  function replace(id, html) {
    const old = document.getElementById(id);
    if (!old) return;
    const tmp = document.createElement("div");
    tmp.innerHTML = html;
    const next = tmp.firstElementChild;
    if (next && next.id === id) old.replaceWith(next); else old.innerHTML = html;
  }

  async function select(name) {
    selected = name;
    history.replaceState(null, "", "?state=" + encodeURIComponent(name));
    const r = await fetch(base + "/panel?state=" + encodeURIComponent(name));
    replace("panel", await r.text());
    mark();
  }

  document.addEventListener("click", function (e) {
    const g = e.target.closest && e.target.closest("#graph g.state");
    if (g) select(g.dataset.state);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" && e.key !== " ") return;
    const g = e.target.closest && e.target.closest("#graph g.state");
    if (g) { e.preventDefault(); select(g.dataset.state); }
  });

  function bindStop() {
    const form = document.getElementById("stop-form");
    if (!form) return;
    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      const button = document.getElementById("stop");
      button.disabled = true;
      button.textContent = "Stopping…";
      await fetch(form.action, { method: "POST" });
    });
  }

  async function follow() {
    while (root.dataset.status === "RUNNING") {
      let j;
      try {
        let url = base + "/live?after=" + root.dataset.lastEvent;
        if (selected) url += "&state=" + encodeURIComponent(selected);
        const r = await fetch(url);
        if (!r.ok) return;
        j = await r.json();
      } catch (err) {
        await new Promise(function (ok) { setTimeout(ok, 2000); });
        continue;
      }
      root.dataset.status = j.status;
      root.dataset.lastEvent = j.lastEvent;
      document.getElementById("summary").innerHTML = j.summary;
      document.getElementById("graph").innerHTML = j.graph;
      document.getElementById("events").innerHTML = j.events;
      replace("panel", j.panel);
      mark();
      bindStop();
    }
  }

  mark();
  bindStop();
  follow();
})();
