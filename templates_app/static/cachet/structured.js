/*
 * The structured version editor: the same body document as the JSON editor, as forms.
 *
 *   const form = CachetStructured.create(host, {models, ttls, onChange});
 *   form.load(doc)   // doc: the parsed body; edited in place, onChange() after each edit
 *
 * Lossless both ways: the form edits the document it was given and nothing else. A key
 * is written only when its field is edited, keys keep their order, new keys go last, and
 * anything the form has no field for (unknown keys, image details, tool calls) is kept
 * as it came, shown as JSON where it can be edited. Every field carries the server's
 * path (`messages[1].content[0].text`) in data-path, so lint issues and preview blocks
 * find their field.
 */
(function () {
  "use strict";

  const ROLES = ["system", "user", "assistant", "tool"];
  const VARIABLE_TYPES = ["string", "integer", "number", "boolean", "array", "object"];
  const NUMBER_PARAMS = [
    ["max_tokens", "max tokens", "integer", 1],
    ["temperature", "temperature", "number", 0.1],
    ["top_p", "top p", "number", 0.05],
    ["top_k", "top k", "integer", 1],
    ["seed", "seed", "integer", 1],
  ];
  const TOOL_CHOICES = ["auto", "none", "required"];
  const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
  const MAX_EDITOR_PX = 380;
  const JP = window.CachetJsonPaths;

  // ------------------------------------------------------------------ helpers

  const el = window.CachetDom.el;

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

  /** Set `key` in place: an existing key keeps its position, a new one goes last. */
  function setKey(holder, key, value) {
    holder[key] = value;
  }

  function dropKey(holder, key) {
    delete holder[key];
  }

  /** Rename `from` to `to`, keeping the key's position among its siblings. */
  function renameKey(holder, from, to) {
    const entries = Object.entries(holder);
    for (const [key] of entries) delete holder[key];
    for (const [key, value] of entries) holder[key === from ? to : key] = value;
  }

  function move(list, index, by) {
    const to = index + by;
    if (to < 0 || to >= list.length) return false;
    const [item] = list.splice(index, 1);
    list.splice(to, 0, item);
    return true;
  }

  function uniqueName(taken, base) {
    if (!(base in taken)) return base;
    for (let n = 2; ; n++) if (!(`${base}_${n}` in taken)) return `${base}_${n}`;
  }

  function pretty(value) {
    return JP.stringify(value, 2);
  }

  // ------------------------------------------------------------------ create

  function create(host, options) {
    const ttls = options.ttls || ["5m", "1h"];
    const onChange = options.onChange || (() => {});
    let doc = null;
    let editors = []; // [{cm, path}] of the rendered form, refreshed when shown
    const sections = {};

    function changed() {
      onChange();
    }

    // -------------------------------------------------------------- editors

    /** A CodeMirror for one text field: Jinja highlighted, as tall as its text up to a bound. */
    function codeField({ value, path, mode, label, onInput, minLines }) {
      const wrap = el("div", { class: `st-code st-code-${mode === "json" ? "json" : "text"}`, "data-path": path });
      const cm = CodeMirror(wrap, {
        value: value,
        mode: mode === "json" ? { name: "javascript", json: true } : "cachet-text",
        lineWrapping: true,
        lineNumbers: false,
        indentUnit: 2,
        tabSize: 2,
        indentWithTabs: false,
        viewportMargin: 10,
        screenReaderLabel: label,
        extraKeys: { Tab: false, "Shift-Tab": false },
      });
      const fit = () => {
        const lines = Math.max(cm.lineCount(), minLines || 2);
        const wanted = Math.min(lines * 19 + 12, MAX_EDITOR_PX);
        cm.getWrapperElement().style.height = `${wanted}px`;
      };
      fit();
      cm.on("change", () => {
        fit();
        onInput(cm.getValue());
      });
      cm.getInputField().dataset.path = path;
      editors.push({ cm, path, wrap });
      return wrap;
    }

    /** A JSON value edited as text: applied when it parses, flagged while it does not. */
    function jsonField({ value, path, label, apply, minLines }) {
      const note = el("span", { class: "st-invalid", hidden: true });
      const field = codeField({
        value: value === undefined ? "" : pretty(value),
        path,
        mode: "json",
        label,
        minLines,
        onInput(text) {
          let parsed;
          try {
            parsed = text.trim() === "" ? undefined : JP.parse(text);
          } catch (err) {
            note.hidden = false;
            note.textContent = `not valid JSON (${err.message}): not applied`;
            field.classList.add("invalid");
            return;
          }
          note.hidden = true;
          field.classList.remove("invalid");
          apply(parsed);
          changed();
        },
      });
      return el("div", { class: "st-json" }, field, note);
    }

    function labelled(text, control, extraClass) {
      return el("label", { class: `st-field ${extraClass || ""}` }, el("span", { class: "st-label", text }), control);
    }

    /** A caption over a code editor (a <label> would send its clicks to the editor's textarea). */
    function captioned(text, control) {
      return el("div", { class: "st-field st-block" }, el("span", { class: "st-label", text }), control);
    }

    /** The "cache up to here" switch of a part, message or tool, with its TTL. */
    function cacheToggle(holder, key, blockPath, what) {
      const marker = () => holder[key];
      const box = el("input", { type: "checkbox", class: "st-cache-box", checked: Boolean(marker()) });
      const ttl = el("select", { class: "st-ttl", "aria-label": `TTL of the checkpoint after ${what}` },
        el("option", { value: "", text: `default (${ttls[0]})` }),
        ttls.map((name) => el("option", { value: name, text: name })));
      const status = el("span", { class: "st-checkpoint", "data-checkpoint-for": blockPath });
      const sync = () => {
        const current = marker();
        box.checked = Boolean(current);
        ttl.disabled = !current;
        ttl.value = isObject(current) && typeof current.ttl === "string" ? current.ttl : "";
      };
      box.addEventListener("change", () => {
        if (box.checked) setKey(holder, key, ttl.value ? { type: "ephemeral", ttl: ttl.value } : { type: "ephemeral" });
        else dropKey(holder, key);
        sync();
        changed();
      });
      ttl.addEventListener("change", () => {
        const current = isObject(marker()) ? marker() : { type: "ephemeral" };
        if (ttl.value) setKey(current, "ttl", ttl.value);
        else dropKey(current, "ttl");
        setKey(holder, key, current);
        changed();
      });
      sync();
      return el("div", { class: "st-cache", "data-path": `${blockPath}.cache_control` },
        el("label", { class: "st-cache-label" }, box, ` cache up to here`), ttl, status);
    }

    function tools(buttons) {
      return el("div", { class: "st-tools" }, buttons.filter(Boolean));
    }

    function button(text, title, onclick, extra) {
      return el("button", { type: "button", class: `st-button ${extra || ""}`, text, title, "aria-label": title, onclick });
    }

    /** Move up / down / remove buttons for item `index` of `list`; `redraw` after. */
    function itemButtons(list, index, what, redraw) {
      return [
        button("↑", `Move ${what} up`, () => move(list, index, -1) && (redraw(), changed()), "st-up"),
        button("↓", `Move ${what} down`, () => move(list, index, 1) && (redraw(), changed()), "st-down"),
        button("✕", `Remove ${what}`, () => {
          list.splice(index, 1);
          redraw();
          changed();
        }, "st-remove"),
      ];
    }

    /** Keys of `holder` the form shows no field for, kept as they are and named. */
    function otherKeys(holder, known, path) {
      const others = Object.keys(holder).filter((key) => !known.includes(key));
      if (!others.length) return null;
      return el("p", { class: "st-other", "data-path": path },
        `Also here, kept as written (edit in JSON): ${others.join(", ")}`);
    }

    // -------------------------------------------------------------- sections

    function section(name, title, render) {
      const body = el("div", { class: "st-section-body" });
      const node = el("section", { class: "st-section", "data-section": name }, el("h3", { text: title }), body);
      sections[name] = () => {
        for (const editor of editors.filter((e) => body.contains(e.wrap))) editor.cm.getWrapperElement().remove();
        editors = editors.filter((e) => !body.contains(e.wrap));
        body.replaceChildren(...[render()].flat(Infinity).filter(Boolean));
        // An editor made in a detached node measured nothing: draw it now that it is placed.
        for (const editor of editors) if (body.contains(editor.wrap)) editor.cm.refresh();
      };
      sections[name]();
      return node;
    }

    // model, params, caching

    function settings() {
      const modelSelect = el("select", { id: "st-model", "aria-label": "Model" });
      const known = new Set();
      for (const group of options.models || []) {
        modelSelect.append(el("optgroup", { label: group.label },
          group.models.map((model) => (known.add(model), el("option", { value: model, text: model })))));
      }
      const other = el("input", { type: "text", class: "st-model-other", "aria-label": "Model (provider/model-id)", placeholder: "provider/model-id" });
      if (typeof doc.model === "string" && !known.has(doc.model)) {
        modelSelect.prepend(el("option", { value: doc.model, text: doc.model }));
      }
      modelSelect.append(el("option", { value: "__other__", text: "Other…" }));
      modelSelect.value = typeof doc.model === "string" ? doc.model : "__other__";
      other.hidden = modelSelect.value !== "__other__";
      modelSelect.addEventListener("change", () => {
        other.hidden = modelSelect.value !== "__other__";
        if (modelSelect.value === "__other__") return other.focus();
        setKey(doc, "model", modelSelect.value);
        changed();
      });
      other.addEventListener("input", () => {
        setKey(doc, "model", other.value.trim());
        changed();
      });
      return [
        el("div", { class: "st-row", "data-path": "model" }, labelled("Model", modelSelect), other),
        params(),
        coalesce(),
        otherKeys(doc, ["model", "params", "variables", "tools", "messages", "caching"], ""),
      ];
    }

    function paramsHolder(create) {
      if (!isObject(doc.params) && create) setKey(doc, "params", {});
      return isObject(doc.params) ? doc.params : null;
    }

    function setParam(key, value) {
      if (value === undefined) {
        const held = paramsHolder(false);
        if (held) dropKey(held, key);
      } else {
        setKey(paramsHolder(true), key, value);
      }
      changed();
    }

    function params() {
      const held = paramsHolder(false) || {};
      const fields = NUMBER_PARAMS.map(([key, text, kind, step]) => {
        const input = el("input", { type: "number", step, class: "st-number", "data-param": key, value: held[key] ?? "" });
        input.addEventListener("input", () => {
          const raw = input.value.trim();
          const value = raw === "" ? undefined : Number(raw);
          const bad = value !== undefined && (Number.isNaN(value) || (kind === "integer" && !Number.isInteger(value)));
          input.classList.toggle("invalid", bad);
          if (!bad) setParam(key, value);
        });
        return labelled(text, input, "st-param");
      });
      const stop = el("textarea", { rows: 1, class: "st-stop", "data-param": "stop", placeholder: "one per line",
        value: Array.isArray(held.stop) ? held.stop.join("\n") : held.stop ?? "" });
      stop.addEventListener("input", () => {
        const lines = stop.value.split("\n").filter((line) => line !== "");
        const wasText = typeof (paramsHolder(false) || {}).stop === "string";
        setParam("stop", !lines.length ? undefined : wasText && lines.length === 1 ? lines[0] : lines);
      });
      const choice = el("select", { class: "st-tool-choice", "data-param": "tool_choice" },
        el("option", { value: "", text: "(default)" }),
        TOOL_CHOICES.map((name) => el("option", { value: name, text: name })),
        (doc.tools || []).filter((t) => isObject(t) && isObject(t.function)).map((t) =>
          el("option", { value: `function:${t.function.name}`, text: `function ${t.function.name}` })));
      const current = held.tool_choice;
      choice.value = typeof current === "string" ? current : isObject(current) ? `function:${current.function?.name}` : "";
      choice.addEventListener("change", () => {
        const value = choice.value;
        setParam("tool_choice", !value ? undefined : value.startsWith("function:")
          ? { type: "function", function: { name: value.slice(9) } } : value);
      });
      return el("div", { class: "st-params", "data-path": "params" }, fields,
        labelled("stop", stop, "st-param"), labelled("tool choice", choice, "st-param"),
        otherKeys(held, [...NUMBER_PARAMS.map(([key]) => key), "stop", "tool_choice"], "params"));
    }

    function coalesce() {
      const caching = isObject(doc.caching) ? doc.caching : {};
      const box = el("input", { type: "checkbox", id: "st-coalesce", checked: caching.coalesce !== false });
      box.addEventListener("change", () => {
        if (!isObject(doc.caching)) setKey(doc, "caching", {});
        if (box.checked && !("coalesce" in doc.caching)) return;
        setKey(doc.caching, "coalesce", box.checked);
        changed();
      });
      return el("label", { class: "st-field st-coalesce", "data-path": "caching" }, box,
        " Cold-start coalescing: concurrent sends of a cold prefix wait for the first to write it");
    }

    // variables

    function variables() {
      const declared = isObject(doc.variables) ? doc.variables : null;
      const rows = declared ? Object.keys(declared).map((name) => variableRow(declared, name)) : [];
      const add = button("+ Add variable", "Add a variable", () => {
        if (!isObject(doc.variables)) setKey(doc, "variables", {});
        const name = uniqueName(doc.variables, "new_variable");
        setKey(doc.variables, name, { type: "string", required: true });
        sections.variables();
        changed();
        host.querySelector(`.st-variable[data-variable="${name}"] .st-var-name`)?.focus();
      }, "st-add st-add-variable");
      const list = el("div", { class: "st-variables" }, rows);
      return [rows.length ? list : el("p", { class: "st-empty", text: "No variables declared." }), add];
    }

    function variableRow(declared, name) {
      const spec = isObject(declared[name]) ? declared[name] : null;
      const path = `variables.${name}`;
      if (!spec) {
        return el("div", { class: "st-variable", "data-variable": name, "data-path": path },
          el("code", { text: name }), " is not an object: edit it in JSON");
      }
      const nameInput = el("input", { type: "text", class: "st-var-name", value: name, "aria-label": "Variable name", spellcheck: "false" });
      nameInput.addEventListener("change", () => {
        const to = nameInput.value.trim();
        const bad = !NAME_RE.test(to) || (to !== name && to in declared);
        nameInput.classList.toggle("invalid", bad);
        nameInput.title = bad ? "letters, digits and _, not starting with a digit, and not already declared" : "";
        if (bad || to === name) return;
        renameKey(declared, name, to);
        sections.variables();
        changed();
      });
      const type = el("select", { class: "st-var-type", "aria-label": `Type of ${name}` },
        VARIABLE_TYPES.map((t) => el("option", { value: t, text: t })));
      if (!VARIABLE_TYPES.includes(spec.type)) type.prepend(el("option", { value: String(spec.type), text: String(spec.type) }));
      type.value = String(spec.type);
      type.addEventListener("change", () => {
        setKey(spec, "type", type.value);
        changed();
      });
      const required = el("input", { type: "checkbox", class: "st-var-required", "aria-label": `${name} is required`,
        checked: "required" in spec ? spec.required === true : !("default" in spec) });
      required.addEventListener("change", () => {
        setKey(spec, "required", required.checked);
        changed();
      });
      const perRequest = el("input", { type: "checkbox", class: "st-var-per-request", "aria-label": `${name} changes per request`,
        checked: spec.per_request === true });
      perRequest.addEventListener("change", () => {
        if (perRequest.checked) setKey(spec, "per_request", true);
        else if ("per_request" in spec) setKey(spec, "per_request", false);
        changed();
      });
      const maxLength = el("input", { type: "number", min: 1, step: 1, class: "st-var-max-length", "aria-label": `Max length of ${name}`,
        value: spec.max_length ?? "" });
      maxLength.addEventListener("input", () => {
        const raw = maxLength.value.trim();
        const value = Number(raw);
        const bad = raw !== "" && !(Number.isInteger(value) && value > 0);
        maxLength.classList.toggle("invalid", bad);
        if (bad) return;
        if (raw === "") dropKey(spec, "max_length");
        else setKey(spec, "max_length", value);
        changed();
      });
      const description = el("input", { type: "text", class: "st-var-description", "aria-label": `Description of ${name}`,
        value: spec.description ?? "" });
      description.addEventListener("input", () => {
        if (description.value === "" && !("description" in spec)) return;
        if (description.value === "") dropKey(spec, "description");
        else setKey(spec, "description", description.value);
        changed();
      });
      return el("div", { class: "st-variable", "data-variable": name, "data-path": path },
        el("div", { class: "st-var-line" },
          labelled("name", nameInput, "st-var-name-field"),
          labelled("type", type),
          el("label", { class: "st-field st-inline" }, required, " required"),
          el("label", { class: "st-field st-inline", title: "Its value changes from request to request: keep it after the last checkpoint" },
            perRequest, " per request"),
          tools(variableButtons(declared, name))),
        el("div", { class: "st-var-line" },
          labelled("default", valueInput(spec, "default", name), "st-var-default-field"),
          labelled("enum", enumInput(spec, name), "st-var-enum-field"),
          labelled("max length", maxLength),
          labelled("description", description, "st-var-description-field")),
        otherKeys(spec, ["type", "required", "default", "enum", "max_length", "description", "per_request"], path));
    }

    /** A default (or any one value) typed as its variable's type: text for strings, JSON else. */
    function valueInput(spec, key, name) {
      const isString = () => spec.type === "string";
      const shown = !(key in spec) ? "" : typeof spec[key] === "string" && isString() ? spec[key] : pretty(spec[key]);
      const input = el("input", { type: "text", class: "st-var-default", "aria-label": `Default of ${name}`, value: shown,
        placeholder: "none", spellcheck: "false" });
      input.addEventListener("input", () => {
        const raw = input.value;
        if (raw === "") {
          input.classList.remove("invalid");
          if (key in spec) dropKey(spec, key);
          return changed();
        }
        if (isString()) {
          setKey(spec, key, raw);
          return changed();
        }
        try {
          setKey(spec, key, JP.parse(raw));
          input.classList.remove("invalid");
          changed();
        } catch (err) {
          input.classList.add("invalid");
          input.title = `not valid JSON for a ${spec.type}: ${err.message}`;
        }
      });
      return input;
    }

    function enumInput(spec, name) {
      const list = Array.isArray(spec.enum) ? spec.enum : null;
      const plain = list && list.every((item) => typeof item === "string" && !item.includes("\n"));
      const area = el("textarea", { rows: 1, class: "st-var-enum", "aria-label": `Allowed values of ${name}`, spellcheck: "false",
        placeholder: "any; or one per line", value: !list ? "" : plain ? list.join("\n") : list.map((item) => JSON.stringify(item)).join("\n") });
      area.addEventListener("input", () => {
        const lines = area.value.split("\n").filter((line) => line.trim() !== "");
        if (!lines.length) {
          if ("enum" in spec) dropKey(spec, "enum");
          return changed();
        }
        try {
          const values = spec.type === "string" ? lines : lines.map((line) => JP.parse(line));
          setKey(spec, "enum", values);
          area.classList.remove("invalid");
          changed();
        } catch (err) {
          area.classList.add("invalid");
          area.title = `each line must be a ${spec.type} in JSON: ${err.message}`;
        }
      });
      return area;
    }

    function variableButtons(declared, name) {
      const names = () => Object.keys(declared);
      const reorder = (by) => {
        const order = names();
        const index = order.indexOf(name);
        if (!move(order, index, by)) return;
        const entries = Object.fromEntries(Object.entries(declared));
        for (const key of Object.keys(declared)) delete declared[key];
        for (const key of order) declared[key] = entries[key];
        sections.variables();
        changed();
      };
      return [
        button("↑", `Move ${name} up`, () => reorder(-1), "st-up"),
        button("↓", `Move ${name} down`, () => reorder(1), "st-down"),
        button("✕", `Remove ${name}`, () => {
          dropKey(declared, name);
          sections.variables();
          changed();
        }, "st-remove"),
      ];
    }

    // tools

    function toolsSection() {
      const list = Array.isArray(doc.tools) ? doc.tools : null;
      const cards = list ? list.map((tool, index) => toolCard(list, tool, index)) : [];
      const add = button("+ Add tool", "Add a tool", () => {
        if (!Array.isArray(doc.tools)) setKey(doc, "tools", []);
        const names = Object.fromEntries(doc.tools.map((t) => [t?.function?.name, true]));
        doc.tools.push({
          type: "function",
          function: { name: uniqueName(names, "new_tool"), description: "", parameters: { type: "object", properties: {} } },
        });
        sections.tools();
        sections.settings();
        changed();
      }, "st-add st-add-tool");
      return [cards.length ? cards : el("p", { class: "st-empty", text: "No tools." }), add];
    }

    function toolCard(list, tool, index) {
      const path = `tools[${index}]`;
      const redraw = () => (sections.tools(), sections.settings());
      if (!isObject(tool) || !isObject(tool.function)) {
        return el("div", { class: "st-card st-tool", "data-path": path },
          el("div", { class: "st-card-head" }, el("strong", { text: `Tool ${index + 1}` }), tools(itemButtons(list, index, "this tool", redraw))),
          jsonField({ value: tool, path, label: `Tool ${index + 1}`, apply: (value) => (list[index] = value) }));
      }
      const fn = tool.function;
      const name = el("input", { type: "text", class: "st-tool-name", value: fn.name ?? "", "aria-label": "Tool name", spellcheck: "false" });
      name.addEventListener("input", () => {
        setKey(fn, "name", name.value);
        changed();
      });
      name.addEventListener("change", () => sections.settings());
      const strict = el("input", { type: "checkbox", class: "st-tool-strict", checked: fn.strict === true });
      strict.addEventListener("change", () => {
        if (strict.checked) setKey(fn, "strict", true);
        else if ("strict" in fn) setKey(fn, "strict", false);
        changed();
      });
      const markerKey = "cache_control" in fn && !("cache_control" in tool) ? "function" : "tool";
      return el("div", { class: "st-card st-tool", "data-path": path },
        el("div", { class: "st-card-head" },
          el("strong", { text: `Tool ${index + 1}` }), labelled("name", name),
          el("label", { class: "st-field st-inline" }, strict, " strict"),
          tools(itemButtons(list, index, `tool ${fn.name || index + 1}`, redraw))),
        captioned("description", codeField({
          value: typeof fn.description === "string" ? fn.description : "",
          path: `${path}.function.description`,
          label: "Tool description",
          onInput(text) {
            setKey(fn, "description", text);
            changed();
          },
        })),
        captioned("parameters (JSON schema)", jsonField({
          value: fn.parameters,
          path: `${path}.function.parameters`,
          label: "Tool parameters",
          minLines: 3,
          apply(value) {
            if (value === undefined) dropKey(fn, "parameters");
            else setKey(fn, "parameters", value);
          },
        })),
        cacheToggle(markerKey === "function" ? fn : tool, "cache_control", path, `tool ${fn.name || index + 1}`),
        otherKeys(tool, ["type", "function", "cache_control"], path),
        otherKeys(fn, ["name", "description", "parameters", "strict", "cache_control"], `${path}.function`));
    }

    // messages

    function messagesSection() {
      const list = Array.isArray(doc.messages) ? doc.messages : [];
      const cards = list.map((message, index) => messageCard(list, message, index));
      const role = el("select", { class: "st-new-role", "aria-label": "Role of the new message" },
        ROLES.map((name) => el("option", { value: name, text: name, selected: name === "user" })));
      const add = button("+ Add message", "Add a message", () => {
        if (!Array.isArray(doc.messages)) setKey(doc, "messages", []);
        const message = { role: role.value, content: "" };
        if (role.value === "tool") message.tool_call_id = "";
        doc.messages.push(message);
        sections.messages();
        changed();
      }, "st-add st-add-message");
      return [cards, el("div", { class: "st-add-row" }, add, role)];
    }

    function messageCard(list, message, index) {
      const path = `messages[${index}]`;
      const redraw = () => sections.messages();
      if (!isObject(message)) {
        return el("div", { class: "st-card st-message", "data-path": path },
          el("div", { class: "st-card-head" }, el("strong", { text: `Message ${index + 1}` }), tools(itemButtons(list, index, "this message", redraw))),
          jsonField({ value: message, path, label: `Message ${index + 1}`, apply: (value) => (list[index] = value) }));
      }
      const role = el("select", { class: "st-role", "aria-label": `Role of message ${index + 1}` },
        ROLES.map((name) => el("option", { value: name, text: name })));
      if (!ROLES.includes(message.role)) role.prepend(el("option", { value: String(message.role), text: String(message.role) }));
      role.value = String(message.role);
      role.addEventListener("change", () => {
        setKey(message, "role", role.value);
        if (role.value === "tool" && !("tool_call_id" in message)) setKey(message, "tool_call_id", "");
        redraw();
        changed();
      });
      const head = el("div", { class: "st-card-head" },
        el("strong", { text: `Message ${index + 1}` }), labelled("role", role),
        optionalText(message, "name", "name", `${path}.name`),
        message.role === "tool" || "tool_call_id" in message ? optionalText(message, "tool_call_id", "tool call id", `${path}.tool_call_id`) : null,
        tools(itemButtons(list, index, `message ${index + 1}`, redraw)));
      return el("div", { class: `st-card st-message role-${message.role}`, "data-path": path, "data-role": message.role },
        head,
        content(message, path, redraw),
        message.role === "assistant" || "tool_calls" in message ? toolCalls(message, path) : null,
        otherKeys(message, ["role", "content", "cache_control", "name", "tool_call_id", "tool_calls"], path));
    }

    function optionalText(holder, key, text, path) {
      const input = el("input", { type: "text", class: `st-${key.replace(/_/g, "-")}`, value: holder[key] ?? "", "data-path": path, spellcheck: "false" });
      input.addEventListener("input", () => {
        if (input.value === "" && key !== "tool_call_id") dropKey(holder, key);
        else setKey(holder, key, input.value);
        changed();
      });
      return labelled(text, input);
    }

    function content(message, path, redraw) {
      const value = message.content;
      if (typeof value === "string") {
        return el("div", { class: "st-content" },
          codeField({
            value,
            path: `${path}.content`,
            label: `Text of message ${path}`,
            onInput(text) {
              setKey(message, "content", text);
              changed();
            },
          }),
          el("div", { class: "st-part-foot" },
            cacheToggle(message, "cache_control", `${path}.content`, "this message"),
            button("Split into parts", "Make this text the first of a list of parts", () => {
              const part = { type: "text", text: message.content };
              if ("cache_control" in message) {
                part.cache_control = message.cache_control;
                dropKey(message, "cache_control");
              }
              setKey(message, "content", [part]);
              redraw();
              changed();
            }, "st-split")));
      }
      if (!Array.isArray(value)) {
        return el("div", { class: "st-content" },
          value === undefined || value === null
            ? el("p", { class: "st-empty", text: "No content." })
            : jsonField({ value, path: `${path}.content`, label: "Content", apply: (v) => setKey(message, "content", v) }),
          addPartButtons(message, redraw));
      }
      const parts = value.map((part, index) => partCard(value, part, index, path, redraw));
      const lastPath = `${path}.content[${value.length - 1}]`;
      return el("div", { class: "st-content st-parts" }, parts,
        "cache_control" in message
          ? el("div", { class: "st-message-marker" }, "This message's own marker closes its last part: ",
            cacheToggle(message, "cache_control", lastPath, "this message"))
          : null,
        addPartButtons(message, redraw));
    }

    function addPartButtons(message, redraw) {
      const add = (part) => () => {
        if (!Array.isArray(message.content)) {
          const text = typeof message.content === "string" ? message.content : null;
          setKey(message, "content", text === null || text === "" ? [] : [{ type: "text", text }]);
        }
        message.content.push(part());
        redraw();
        changed();
      };
      return el("div", { class: "st-add-row" },
        button("+ Text part", "Add a text part", add(() => ({ type: "text", text: "" })), "st-add st-add-text"),
        message.role === "system" ? null : button("+ Image", "Add an image part", add(() => ({ type: "image_url", image_url: { url: "" } })), "st-add st-add-image"),
        message.role === "system" ? null : button("+ File", "Add a file part", add(() => ({ type: "file", file: { file_id: "" } })), "st-add st-add-file"));
    }

    function partCard(list, part, index, messagePath, redraw) {
      const path = `${messagePath}.content[${index}]`;
      const head = el("div", { class: "st-part-head" },
        el("span", { class: "st-part-type", text: isObject(part) ? String(part.type) : "?" }),
        tools(itemButtons(list, index, `part ${index + 1}`, redraw)));
      let bodyNode;
      if (isObject(part) && part.type === "text" && typeof part.text === "string") {
        bodyNode = codeField({
          value: part.text,
          path: `${path}.text`,
          label: `Text of part ${index + 1}`,
          onInput(text) {
            setKey(part, "text", text);
            changed();
          },
        });
      } else if (isObject(part) && part.type === "image_url" && isObject(part.image_url)) {
        const url = el("input", { type: "text", class: "st-image-url", value: part.image_url.url ?? "", "data-path": `${path}.image_url.url`, spellcheck: "false" });
        url.addEventListener("input", () => {
          setKey(part.image_url, "url", url.value);
          changed();
        });
        bodyNode = el("div", {}, labelled("image URL (Jinja allowed)", url), otherKeys(part.image_url, ["url"], `${path}.image_url`));
      } else if (isObject(part) && part.type === "file" && isObject(part.file)) {
        bodyNode = jsonField({ value: part.file, path: `${path}.file`, label: "File", apply: (v) => setKey(part, "file", v) });
      } else {
        bodyNode = jsonField({ value: part, path, label: `Part ${index + 1}`, apply: (v) => (list[index] = v) });
      }
      return el("div", { class: "st-part", "data-path": path }, head, bodyNode,
        isObject(part) ? el("div", { class: "st-part-foot" }, cacheToggle(part, "cache_control", path, `part ${index + 1}`)) : null,
        isObject(part) ? otherKeys(part, ["type", "text", "image_url", "file", "cache_control"], path) : null);
    }

    function toolCalls(message, path) {
      return el("div", { class: "st-tool-calls" }, captioned("tool calls (JSON; each may carry cache_control)", jsonField({
        value: message.tool_calls,
        path: `${path}.tool_calls`,
        label: "Tool calls",
        apply(value) {
          if (value === undefined) dropKey(message, "tool_calls");
          else setKey(message, "tool_calls", value);
        },
      })));
    }

    // -------------------------------------------------------------- render

    function render() {
      for (const editor of editors) editor.cm.getWrapperElement().remove();
      editors = [];
      host.replaceChildren(
        section("settings", "Model and parameters", settings),
        section("variables", "Variables", variables),
        section("tools", "Tools", toolsSection),
        section("messages", "Messages", messagesSection)
      );
      for (const editor of editors) editor.cm.refresh();
    }

    /** The element for a server path: the field itself, or its nearest enclosing one. */
    function find(path) {
      let probe = path;
      while (probe) {
        const node = host.querySelector(`[data-path="${CSS.escape(probe)}"]`);
        if (node) return node;
        const cut = Math.max(probe.lastIndexOf("."), probe.lastIndexOf("["));
        if (cut <= 0) break;
        probe = probe.slice(0, cut);
      }
      return null;
    }

    /** A checkpoint's issue (its path is the block's) belongs on the block's cache switch. */
    function checkpointField(issue) {
      if (!/checkpoint|minimum|ttl|cache/.test(issue.code || "")) return null;
      return host.querySelector(`[data-path="${CSS.escape(`${issue.path}.cache_control`)}"]`);
    }

    return {
      load(value) {
        doc = value;
        render();
      },
      doc: () => doc,
      refresh() {
        for (const editor of editors) editor.cm.refresh();
      },
      /** Flag the fields lint points at (`issues`: {path, severity, message}). */
      markIssues(issues) {
        for (const node of host.querySelectorAll(".st-has-error, .st-has-warning")) {
          node.classList.remove("st-has-error", "st-has-warning");
          node.removeAttribute("data-issue");
        }
        for (const issue of issues) {
          const node = issue.path && (checkpointField(issue) || find(issue.path));
          if (!node) continue;
          node.classList.add(issue.severity === "error" ? "st-has-error" : "st-has-warning");
          node.dataset.issue = [node.dataset.issue, `${issue.code}: ${issue.message}`].filter(Boolean).join("\n");
          node.title = node.dataset.issue;
        }
      },
      /** Each checkpoint's state from the preview, next to its "cache up to here" switch. */
      showCheckpoints(blocks, describe) {
        const byPath = new Map(blocks.filter((b) => b.checkpoint).map((b) => [b.path, b.checkpoint]));
        for (const node of host.querySelectorAll("[data-checkpoint-for]")) {
          const checkpoint = byPath.get(node.dataset.checkpointFor);
          node.textContent = checkpoint ? describe(checkpoint) : "";
          node.dataset.status = checkpoint ? checkpoint.status : "";
        }
      },
      /** Scroll to the field of `path` and focus it. */
      reveal(path) {
        const node = find(path);
        if (!node) return false;
        node.scrollIntoView({ block: "center" });
        const editor = editors.find((e) => e.wrap === node || node.contains(e.wrap));
        if (editor) editor.cm.focus();
        else node.querySelector("input, select, textarea")?.focus();
        node.classList.add("st-flash");
        setTimeout(() => node.classList.remove("st-flash"), 1200);
        return true;
      },
    };
  }

  window.CachetStructured = { create };
})();
