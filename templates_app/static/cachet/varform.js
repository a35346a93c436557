/*
 * Variables as a form: one field per declared variable, written into a JSON <textarea>.
 *
 *   const form = CachetVarForm.attach(textarea, {spec, tokenFactor, fillMissing});
 *   form.setSpec(body.variables)   // the declared variables changed
 *
 * The textarea stays the source of truth that the page reads: every edit in the form
 * rewrites its JSON and fires "input" on it, and an "input" the form did not cause (the
 * JSON mode, a script) is read back into the form. Values that are not declared are kept
 * and named. `spec` is a body's `variables` object (name -> {type, required, default,
 * enum, max_length, description, per_request}).
 */
(function () {
  "use strict";

  const LONG_TEXT = 2000; // characters: a longer string gets the tall, resizable box
  const ASCII = /^[\x00-\x7f]*$/;
  const count = (n) => window.CachetFormat.count(n);

  /** gateway/tokens.estimate_tokens: a token per 4 ASCII characters, one per other
      character, times the tokenizer family's factor; each step rounded up. */
  function estimateTokens(text, factor) {
    if (!text) return 0;
    let base;
    if (ASCII.test(text)) {
      base = Math.ceil(text.length / 4);
    } else {
      // Characters as Python counts them: code points, not UTF-16 units (🚀 is one).
      let all = 0;
      let other = 0;
      for (const char of text) {
        all++;
        if (char > "\x7f") other++;
      }
      base = Math.ceil((all - other) / 4) + other;
    }
    // Python multiplies exact fractions; 1.3 as a float can land a hair above a whole number.
    return Math.ceil(Math.round(base * (factor || 1) * 1e6) / 1e6);
  }

  const el = window.CachetDom.el;

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
  const isRequired = (spec) => ("required" in spec ? spec.required === true : !("default" in spec));

  function sampleValue(name, spec) {
    if (Array.isArray(spec.enum) && spec.enum.length) return spec.enum[0];
    switch (spec.type) {
      case "integer":
      case "number":
        return 0;
      case "boolean":
        return false;
      case "array":
        return [];
      case "object":
        return {};
      default:
        return `sample ${name.replace(/_/g, " ")}`;
    }
  }

  let serial = 0;

  function attach(textarea, options) {
    let spec = isObject(options.spec) ? options.spec : {};
    let specKey = JSON.stringify(spec);
    let factor = options.tokenFactor || 1;
    const fillMissing = Boolean(options.fillMissing);
    const id = `vf${++serial}`;
    let values = {};
    let writing = false;
    let mode = "form";

    const fields = el("div", { class: "vf-fields" });
    const note = el("p", { class: "vf-note", hidden: true });
    const error = el("p", { class: "vf-error errornote", role: "alert", hidden: true });
    const buttons = ["form", "json"].map((name) =>
      el("button", { type: "button", class: "vf-mode", "data-vf-mode": name, "aria-pressed": String(name === mode),
        text: name === "form" ? "Form" : "JSON", onclick: () => setMode(name) }));
    const element = el("div", { class: "vf", id }, el("div", { class: "vf-switch", role: "group", "aria-label": "Edit variables as" }, buttons),
      error, fields, note);
    textarea.before(element);
    element.append(textarea);

    function setMode(name) {
      mode = name;
      textarea.hidden = mode !== "json";
      fields.hidden = mode !== "form";
      for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.vfMode === mode));
      if (mode === "form") read();
    }

    /** Values from the textarea; false (and the reason shown) when it is not a JSON object. */
    function read() {
      let parsed;
      try {
        parsed = JSON.parse(textarea.value.trim() || "{}");
      } catch (err) {
        return fail(`The variables are not valid JSON (${err.message}): the form shows the last valid values.`);
      }
      if (!isObject(parsed)) return fail('The variables must be a JSON object {"name": value, …}.');
      error.hidden = true;
      values = parsed;
      render();
      return true;
    }

    function fail(message) {
      error.textContent = message;
      error.hidden = false;
      return false;
    }

    /** Write the values into the textarea (declared order first) and tell the page. */
    function write() {
      const ordered = {};
      for (const name of Object.keys(spec)) if (name in values) ordered[name] = values[name];
      for (const [name, value] of Object.entries(values)) if (!(name in ordered)) ordered[name] = value;
      values = ordered;
      writing = true;
      textarea.value = JSON.stringify(values, null, 2);
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
      writing = false;
      showUndeclared();
    }

    function set(name, value) {
      if (value === undefined) delete values[name];
      else values[name] = value;
      write();
    }

    function showUndeclared() {
      const extra = Object.keys(values).filter((name) => !(name in spec));
      note.hidden = !extra.length;
      note.textContent = extra.length
        ? `Not declared, kept as they are (a send with them is refused until they are declared or removed): ${extra.join(", ")}`
        : "";
      note.dataset.undeclared = extra.join(",");
    }

    function fill() {
      let filled = false;
      for (const [name, declared] of Object.entries(spec)) {
        if (isObject(declared) && !(name in values) && isRequired(declared) && !("default" in declared)) {
          values[name] = sampleValue(name, declared);
          filled = true;
        }
      }
      return filled;
    }

    // ------------------------------------------------------------ fields

    function render() {
      fields.replaceChildren(
        ...Object.entries(spec).filter(([, declared]) => isObject(declared)).map(([name, declared]) => field(name, declared))
      );
      if (!Object.keys(spec).length) fields.append(el("p", { class: "vf-empty", text: "No variables declared." }));
      showUndeclared();
    }

    function field(name, declared) {
      const inputId = `${id}-${name}`;
      const facts = [declared.type || "string", isRequired(declared) ? "required" : "optional"];
      if ("default" in declared) facts.push(`default ${JSON.stringify(declared.default)}`);
      if (declared.max_length) facts.push(`at most ${count(declared.max_length)} characters`);
      if (declared.per_request) facts.push("per request");
      const head = el("div", { class: "vf-head" },
        el("label", { for: inputId, class: "vf-name" }, el("code", { text: name })),
        el("span", { class: "vf-facts", text: facts.join(" · ") }),
        declared.description ? el("span", { class: "vf-description", text: declared.description }) : null);
      return el("div", { class: "vf-field", "data-variable": name, "data-type": declared.type || "string" }, head,
        control(name, declared, inputId));
    }

    function control(name, declared, inputId) {
      if (Array.isArray(declared.enum)) return enumControl(name, declared, inputId);
      switch (declared.type) {
        case "integer":
        case "number":
          return numberControl(name, declared, inputId);
        case "boolean":
          return booleanControl(name, declared, inputId);
        case "array":
        case "object":
          return jsonControl(name, declared, inputId);
        default:
          return textControl(name, declared, inputId);
      }
    }

    function textControl(name, declared, inputId) {
      const value = typeof values[name] === "string" ? values[name] : values[name] === undefined ? "" : JSON.stringify(values[name]);
      const area = el("textarea", { id: inputId, class: "vf-text", spellcheck: "false", value,
        placeholder: "default" in declared ? `not set: ${declared.default}` : isRequired(declared) ? "" : "not set" });
      const size = el("span", { class: "vf-size", "aria-live": "off" });
      const fit = () => {
        const long = area.value.length > LONG_TEXT;
        area.classList.toggle("vf-long", long);
        if (!long) {
          area.style.height = "auto";
          area.style.height = `${Math.min(area.scrollHeight + 2, 180)}px`;
        } else if (!area.style.height || area.style.height === "auto" || parseInt(area.style.height, 10) < 200) {
          area.style.height = "240px";
        }
        const tokens = estimateTokens(area.value, factor);
        size.textContent = `≈${count(tokens)} tokens · ${count(area.value.length)} characters`;
        size.dataset.tokens = String(tokens);
        const over = declared.max_length && area.value.length > declared.max_length;
        area.classList.toggle("invalid", Boolean(over));
        size.classList.toggle("vf-over", Boolean(over));
        if (over) size.textContent += ` — over the limit of ${count(declared.max_length)}`;
      };
      area.addEventListener("input", () => {
        fit();
        const optional = !isRequired(declared) || "default" in declared;
        set(name, area.value === "" && optional ? undefined : area.value);
      });
      requestAnimationFrame(fit);
      fit();
      return el("div", { class: "vf-control" }, area, size);
    }

    function numberControl(name, declared, inputId) {
      const input = el("input", { id: inputId, type: "number", class: "vf-number", step: declared.type === "integer" ? 1 : "any",
        value: typeof values[name] === "number" ? values[name] : "",
        placeholder: "default" in declared ? `not set: ${declared.default}` : "" });
      input.addEventListener("input", () => {
        const raw = input.value.trim();
        const number = Number(raw);
        const bad = raw !== "" && (!Number.isFinite(number) || (declared.type === "integer" && !Number.isInteger(number)));
        input.classList.toggle("invalid", bad);
        if (!bad) set(name, raw === "" ? undefined : number);
      });
      return el("div", { class: "vf-control" }, input);
    }

    function booleanControl(name, declared, inputId) {
      const current = typeof values[name] === "boolean" ? values[name] : declared.default === true;
      const box = el("input", { id: inputId, type: "checkbox", class: "vf-boolean", checked: current });
      box.addEventListener("change", () => set(name, box.checked));
      return el("div", { class: "vf-control" }, box, el("span", { class: "vf-quiet", text: name in values ? "" : " (not set: the default applies)" }));
    }

    function enumControl(name, declared, inputId) {
      const select = el("select", { id: inputId, class: "vf-enum" });
      if (!isRequired(declared) || "default" in declared) select.append(el("option", { value: "", text: "default" in declared ? `(default: ${declared.default})` : "(not set)" }));
      declared.enum.forEach((choice, index) => select.append(el("option", { value: String(index), text: String(choice) })));
      const at = declared.enum.findIndex((choice) => JSON.stringify(choice) === JSON.stringify(values[name]));
      select.value = at >= 0 ? String(at) : name in values ? "" : select.options[0]?.value ?? "";
      select.addEventListener("change", () => set(name, select.value === "" ? undefined : declared.enum[Number(select.value)]));
      return el("div", { class: "vf-control" }, select);
    }

    function jsonControl(name, declared, inputId) {
      const area = el("textarea", { id: inputId, class: "vf-json", rows: 3, spellcheck: "false",
        value: name in values ? JSON.stringify(values[name], null, 2) : "",
        placeholder: "default" in declared ? `not set: ${JSON.stringify(declared.default)}` : `a JSON ${declared.type}` });
      const problem = el("span", { class: "vf-invalid", hidden: true });
      area.addEventListener("input", () => {
        const raw = area.value.trim();
        if (raw === "") {
          problem.hidden = true;
          area.classList.remove("invalid");
          return set(name, undefined);
        }
        let parsed;
        try {
          parsed = JSON.parse(raw);
        } catch (err) {
          parsed = err;
        }
        const ok = !(parsed instanceof Error) && (declared.type === "array" ? Array.isArray(parsed) : isObject(parsed));
        problem.hidden = ok;
        problem.textContent = ok ? "" : `${name} must be a JSON ${declared.type}${parsed instanceof Error ? ` (${parsed.message})` : ""}: not applied`;
        area.classList.toggle("invalid", !ok);
        if (ok) set(name, parsed);
      });
      return el("div", { class: "vf-control" }, area, problem);
    }

    // ------------------------------------------------------------ wire

    textarea.addEventListener("input", () => {
      if (!writing) read();
    });
    textarea.addEventListener("change", () => {
      if (!writing) read();
    });
    if (!read()) setMode("json");
    else setMode("form");
    if (fillMissing && fill()) {
      write();
      render();
    }

    return {
      element,
      values: () => ({ ...values }),
      setSpec(next) {
        const key = JSON.stringify(isObject(next) ? next : {});
        if (key === specKey) return; // unchanged: keep the fields (and the caret) as they are
        specKey = key;
        spec = isObject(next) ? next : {};
        if (fillMissing && fill()) write();
        render();
      },
      setTokenFactor(next) {
        if ((next || 1) === factor) return;
        factor = next || 1;
        render();
      },
      setMode,
    };
  }

  window.CachetVarForm = { attach, estimateTokens };
})();
