/* The "Try it" panel of the template page: send through the REST API with the
   admin session and its CSRF token, then show output, usage, cost and the miss
   explanation. Plain JS, no build step, nothing loaded from elsewhere. */
(function () {
  "use strict";

  // The template's sample variables (a JSON field of the form above) as one field per variable.
  const sampleForm = document.getElementById("sample-form");
  const sampleArea = document.getElementById("id_sample_variables");
  if (sampleForm && sampleArea) {
    window.CachetVarForm.attach(sampleArea, JSON.parse(sampleForm.textContent));
  }

  // A label's "Promote / roll back" opens only for a version other than the one it points at.
  for (const move of document.querySelectorAll("form.label-move")) {
    const select = move.querySelector("select[name=version]");
    const button = move.querySelector("button[type=submit]");
    const sync = () => {
      button.disabled = select.disabled || select.value === select.dataset.current;
      button.title = button.disabled && !select.disabled ? "choose another version first" : "";
    };
    select.addEventListener("change", sync);
    sync();
  }

  const panel = document.getElementById("try-it");
  const form = document.getElementById("try-form");
  if (!panel || !form) {
    return;
  }
  const target = document.getElementById("try-target");
  const model = document.getElementById("try-model");
  const variables = document.getElementById("try-variables");
  const sendButton = document.getElementById("try-send");
  const result = document.getElementById("try-result");
  const errorBox = document.getElementById("try-error");
  const data = JSON.parse(document.getElementById("try-data").textContent);
  let variablesEdited = false;
  const factorOf = (name) => (data.tokenFactors || {})[name] || 1;
  const varForm = window.CachetVarForm.attach(variables, {
    spec: specOf(target.value),
    tokenFactor: factorOf(model.value),
  });

  /** The declared variables of a target's version: on the page, or fetched once. */
  function specOf(value) {
    const chosen = data.targets[value];
    return chosen ? data.specs[String(chosen.version)] : undefined;
  }

  async function loadSpec(value) {
    const chosen = data.targets[value];
    if (!chosen || data.specs[String(chosen.version)] !== undefined) return;
    const url = data.versionUrl.replace(/\/0$/, "/" + chosen.version);
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) data.specs[String(chosen.version)] = (await response.json()).body.variables || {};
    } catch (error) {
      /* the names from lint still prefill; the form shows what it knows */
    }
  }

  function field(name) {
    return result.querySelector('[data-field="' + name + '"]');
  }

  function setText(name, text) {
    const element = field(name);
    if (element) {
      element.textContent = text;
    }
  }

  function tokens(value) {
    return window.CachetFormat.count(value);
  }

  function usd(value) {
    return window.CachetFormat.usd(value);
  }

  function csrfToken() {
    const input = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function finish() {
    sendButton.disabled = false;
    sendButton.textContent = "Send";
    result.dataset.ready = "true";
  }

  /* Prefill the variables the chosen version declares, until the author edits them. */
  async function applyTarget() {
    const chosen = data.targets[target.value];
    if (!chosen) {
      return;
    }
    await loadSpec(target.value);
    varForm.setSpec(specOf(target.value));
    if (chosen.model && Array.from(model.options).some((o) => o.value === chosen.model)) {
      model.value = chosen.model;
    }
    if (!variablesEdited) {
      const picked = {};
      for (const name of Object.keys(data.samples)) {
        if (chosen.vars.includes(name)) {
          picked[name] = data.samples[name];
        }
      }
      const values = Object.keys(picked).length ? picked : data.samples;
      variables.value = JSON.stringify(values, null, 2);
      variables.dispatchEvent(new Event("change"));
    }
    varForm.setTokenFactor(factorOf(model.value));
  }

  function payload() {
    let parsed;
    try {
      parsed = JSON.parse(variables.value || "{}");
    } catch (error) {
      throw new Error("Variables are not valid JSON: " + error.message);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error("Variables must be a JSON object, e.g. {\"question\": \"...\"}");
    }
    const body = { variables: parsed };
    const [kind, value] = target.value.split(/:(.*)/s);
    if (kind === "version") {
      body.version = Number(value);
    } else {
      body.label = value;
    }
    if (model.value) {
      body.model = model.value;
    }
    return body;
  }

  function missText(miss) {
    if (!miss) {
      return "hit: no cache write needed, every cached prefix was read (or nothing is marked for caching)";
    }
    return miss.message || miss.reason || "";
  }

  function showResult(answer) {
    const usage = answer.usage || {};
    const cost = answer.cost || {};
    setText("output", (answer.output && answer.output.text) || "(no text)");
    setText(
      "summary",
      "v" + answer.version + (answer.label ? " via " + answer.label : "") + " · " + answer.model
    );
    for (const name of [
      "input_tokens",
      "cache_read_tokens",
      "cache_write_tokens",
      "cache_write_5m_tokens",
      "cache_write_1h_tokens",
      "output_tokens",
    ]) {
      setText(name, tokens(usage[name]));
    }
    setText("cost_usd", usd(cost.usd));
    setText("usd_without_cache", usd(cost.usd_without_cache));
    setText("saved_usd", usd(cost.saved_usd));
    setText("latency_ms", answer.latency_ms + " ms");
    setText("miss", missText(answer.miss));
    const link = field("invocation");
    link.textContent = "#" + answer.invocation_id;
    link.href = panel.dataset.invocationUrl.replace(/\/0\/change\/$/, "/" + answer.invocation_id + "/change/");
    result.querySelector('[data-when="empty"]').hidden = true;
    result.querySelector('[data-when="done"]').hidden = false;
  }

  function errorText(answer, status) {
    const error = answer && answer.error;
    if (!error) {
      return "The send failed (HTTP " + status + ").";
    }
    let text = error.message + " (" + error.type + ", HTTP " + status + ")";
    if (Array.isArray(error.details) && error.details.length > 1) {
      const lines = error.details.map((d) => (d.variable || d.path || "") + ": " + (d.message || ""));
      text += "\n" + lines.join("\n");
    }
    return text;
  }

  async function send(event) {
    event.preventDefault();
    result.dataset.ready = "false";
    errorBox.hidden = true;
    errorBox.textContent = "";
    // The previous answer goes as this send starts: a failure must never read as its result.
    result.querySelector('[data-when="done"]').hidden = true;
    result.querySelector('[data-when="empty"]').hidden = true;
    let body;
    try {
      body = payload();
    } catch (error) {
      showError(error.message);
      finish();
      return;
    }
    sendButton.disabled = true;
    sendButton.textContent = "Sending…";
    try {
      const response = await fetch(panel.dataset.sendUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify(body),
      });
      let answer = null;
      try {
        answer = await response.json();
      } catch (ignored) {
        answer = null;
      }
      if (response.ok && answer) {
        showResult(answer);
      } else {
        showError(errorText(answer, response.status));
      }
    } catch (error) {
      showError("Could not reach the server: " + error.message);
    } finally {
      finish();
    }
  }

  variables.addEventListener("input", () => {
    variablesEdited = true;
  });
  target.addEventListener("change", applyTarget);
  model.addEventListener("change", () => varForm.setTokenFactor(factorOf(model.value)));
  form.addEventListener("submit", send);
})();
