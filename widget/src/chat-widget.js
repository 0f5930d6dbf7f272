/*
 * Chat widget for the chemotherapy patient-education assistant (Rasa socket.io channel).
 *
 * Embed with one tag (all data- attributes are optional):
 *   <script src="https://HOST/widget/chat-widget.js" defer
 *           data-server-url="https://bot.example.org" data-lang="en"
 *           data-primary-color="#005eb8" data-position="right"></script>
 *
 * Words come from two places, never from this file:
 * - its UI labels (buttons, placeholders, aria labels, notes) from one translations file,
 *   i18n/<data-lang>.json next to this script (i18n/en.json by default);
 * - the greeting and the disclaimer from the assistant's server when the chat connects
 *   (the domain responses utter_greet and utter_disclaimer, bot/channels/socketio.py).
 *
 * No framework and no CDN: the pinned socket.io client is loaded as an ES module from the
 * widget's own folder (vendor/socket.io.esm.min.js). Everything the bot or the user wrote is
 * inserted with textContent; a tiny formatter of our own turns **bold**, "- " lists, line
 * breaks and http(s) links into DOM nodes. Nothing is ever assigned to innerHTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__necChatWidget) {
    return;
  }
  window.__necChatWidget = true;

  var BASE = new URL(".", script.src).href;
  var STORAGE_VERSION = 1;
  var MAX_STORED_ITEMS = 200;
  var TYPING_FALLBACK_MS = 20000; // hide the typing dots if no turn-end event ever comes
  var AFTER_MESSAGE_MS = 4000; // ...or this long after the last bot message

  function attr(name, fallback) {
    var value = script.getAttribute("data-" + name);
    return value === null || value.trim() === "" ? fallback : value.trim();
  }

  var lang = attr("lang", "en");
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/.test(lang)) {
    lang = "en";
  }
  var config = {
    serverUrl: attr("server-url", "http://localhost:5005"),
    socketPath: attr("socket-path", "/socket.io/"),
    clientUrl: attr("socket-client", BASE + "vendor/socket.io.esm.min.js"),
    labelsUrl: attr("labels", BASE + "i18n/" + lang + ".json"),
    primaryColor: attr("primary-color", "#005eb8"),
    botBubbleColor: attr("bot-bubble-color", "#eef2f6"),
    position: attr("position", "right") === "left" ? "left" : "right",
  };
  var STORAGE_KEY = "nec-chat:" + config.serverUrl;

  // The labels first: the widget has no words of its own to show without them.
  fetch(config.labelsUrl, { credentials: "omit" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (labels) {
      if (!labels || typeof labels !== "object") {
        throw new Error("not a JSON object");
      }
      start(labels);
    })
    .catch(function (err) {
      console.warn("chat widget: could not load its labels from " + config.labelsUrl, err);
    });

  function start(L) {
    // ---------------------------------------------------------------- small DOM helpers

    function el(tag, props, children) {
      var node = document.createElement(tag);
      if (props) {
        Object.keys(props).forEach(function (key) {
          var value = props[key];
          if (value === null || value === undefined || value === false) {
            return;
          }
          if (key === "text") {
            node.textContent = value;
          } else if (key === "className") {
            node.className = value;
          } else if (key === "on") {
            Object.keys(value).forEach(function (evt) {
              node.addEventListener(evt, value[evt]);
            });
          } else {
            node.setAttribute(key, value === true ? "" : String(value));
          }
        });
      }
      (children || []).forEach(function (child) {
        if (child) {
          node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
        }
      });
      return node;
    }

    function hiddenText(text) {
      return el("span", { className: "nc-visually-hidden", text: text });
    }

    // ---------------------------------------------------------------- safe formatting

    /** Returns an absolute http(s) URL string, or null for anything else (javascript:, data:...). */
    function safeUrl(raw) {
      try {
        var url = new URL(raw);
        return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
      } catch (err) {
        return null;
      }
    }

    function makeLink(href, label) {
      return el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, [
        label,
        hiddenText(L.opensNewTab),
      ]);
    }

    var INLINE = /\*\*([^*\n]+?)\*\*|\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>"']+)/g;

    /** Appends text with **bold**, [label](url) and bare http(s) URLs to parent as DOM nodes. */
    function appendInline(parent, text, allowBold) {
      var last = 0;
      var match;
      INLINE.lastIndex = 0;
      var pieces = [];
      while ((match = INLINE.exec(text)) !== null) {
        pieces.push({ start: match.index, end: INLINE.lastIndex, m: match.slice() });
      }
      pieces.forEach(function (piece) {
        var m = piece.m;
        if (piece.start > last) {
          parent.appendChild(document.createTextNode(text.slice(last, piece.start)));
        }
        var end = piece.end;
        if (m[1] !== undefined) {
          if (allowBold) {
            var strong = el("strong");
            appendInline(strong, m[1], false);
            parent.appendChild(strong);
          } else {
            parent.appendChild(document.createTextNode(m[0]));
          }
        } else if (m[2] !== undefined) {
          var href = safeUrl(m[3]);
          parent.appendChild(href ? makeLink(href, m[2]) : document.createTextNode(m[0]));
        } else {
          // Bare URL: leave trailing punctuation (and an unmatched ")") outside the link.
          var raw = m[4];
          while (raw.length) {
            var ch = raw.charAt(raw.length - 1);
            var unmatchedParen = ch === ")" && raw.split(")").length > raw.split("(").length;
            if (".,;:!?'\"".indexOf(ch) < 0 && !unmatchedParen) {
              break;
            }
            raw = raw.slice(0, -1);
            end -= 1;
          }
          var bare = safeUrl(raw);
          parent.appendChild(bare ? makeLink(bare, raw) : document.createTextNode(raw));
        }
        last = end;
      });
      if (last < text.length) {
        parent.appendChild(document.createTextNode(text.slice(last)));
      }
    }

    /** The user's own words: only line breaks, no other formatting. */
    function plainText(text) {
      var p = el("p");
      String(text)
        .replace(/\r\n?/g, "\n")
        .split("\n")
        .forEach(function (line, i) {
          if (i) {
            p.appendChild(el("br"));
          }
          p.appendChild(document.createTextNode(line));
        });
      return p;
    }

    /** Builds a fragment from bot text: paragraphs, line breaks, "- " lists, inline marks. */
    function formatText(text) {
      var fragment = document.createDocumentFragment();
      var lines = String(text).replace(/\r\n?/g, "\n").split("\n");
      var paragraph = null;
      var list = null;
      lines.forEach(function (line) {
        var item = /^\s*[-*\u2022]\s+(.*)$/.exec(line);
        if (item) {
          paragraph = null;
          if (!list) {
            list = fragment.appendChild(el("ul"));
          }
          var li = list.appendChild(el("li"));
          appendInline(li, item[1], true);
          return;
        }
        list = null;
        if (line.trim() === "") {
          paragraph = null;
          return;
        }
        if (paragraph) {
          paragraph.appendChild(el("br"));
        } else {
          paragraph = fragment.appendChild(el("p"));
        }
        appendInline(paragraph, line, true);
      });
      return fragment;
    }

    // ---------------------------------------------------------------- colours (WCAG AA)

    function parseRgb(cssColor, probe) {
      probe.style.color = "";
      probe.style.color = cssColor;
      if (!probe.style.color) {
        return null;
      }
      var m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(probe).color);
      return m ? [+m[1], +m[2], +m[3]] : null;
    }

    function luminance(rgb) {
      var c = rgb.map(function (v) {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    }

    function contrast(a, b) {
      var la = luminance(a);
      var lb = luminance(b);
      return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
    }

    /** Darkens (or lightens) rgb until it reaches ratio against `against`. */
    function ensureContrast(rgb, against, ratio) {
      var towards = luminance(against) > 0.5 ? [0, 0, 0] : [255, 255, 255];
      var current = rgb.slice();
      for (var step = 0; step < 20 && contrast(current, against) < ratio; step += 1) {
        current = current.map(function (v, i) {
          return Math.round(v + (towards[i] - v) * 0.1);
        });
      }
      return current;
    }

    function css(rgb) {
      return "rgb(" + rgb.join(", ") + ")";
    }

    function applyColours(host, probe) {
      var white = [255, 255, 255];
      var nearBlack = [27, 27, 27];
      var primary = parseRgb(config.primaryColor, probe) || [0, 94, 184];
      var bubble = parseRgb(config.botBubbleColor, probe) || [238, 242, 246];
      var onPrimary = contrast(primary, white) >= contrast(primary, nearBlack) ? white : nearBlack;
      primary = ensureContrast(primary, onPrimary, 4.5);
      var onBubble = contrast(bubble, nearBlack) >= contrast(bubble, white) ? nearBlack : white;
      host.style.setProperty("--nc-primary", css(primary));
      host.style.setProperty("--nc-on-primary", css(onPrimary));
      host.style.setProperty("--nc-primary-on-white", css(ensureContrast(primary, white, 4.5)));
      host.style.setProperty("--nc-bot-bubble", css(bubble));
      host.style.setProperty("--nc-on-bot-bubble", css(ensureContrast(onBubble, bubble, 4.5)));
    }

    // ---------------------------------------------------------------- persisted state

    // Session ids are issued and signed by the server (bot/channels/sessions.py): the widget
    // asks with session_id null, keeps what session_confirm returns in this tab's
    // sessionStorage, and presents it again after a reload or a dropped connection.
    var SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/;

    // intro: the server's greeting and disclaimer (kept so a reload shows them at once).
    function freshState(intro) {
      return { v: STORAGE_VERSION, sessionId: null, open: false, items: [], seq: 0, intro: intro || null };
    }

    function validIntro(intro) {
      return Boolean(
        intro && typeof intro.greeting === "string" && typeof intro.disclaimer === "string"
      );
    }

    function loadState() {
      try {
        var saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
        if (
          saved &&
          saved.v === STORAGE_VERSION &&
          Array.isArray(saved.items) &&
          (saved.sessionId === null || SESSION_ID_PATTERN.test(saved.sessionId))
        ) {
          saved.intro = validIntro(saved.intro) ? saved.intro : null;
          return saved;
        }
      } catch (err) {
        /* unreadable or blocked storage: start a new conversation */
      }
      return freshState();
    }

    var state = loadState();

    function saveState() {
      if (state.items.length > MAX_STORED_ITEMS) {
        state.items = state.items.slice(state.items.length - MAX_STORED_ITEMS);
      }
      try {
        window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
      } catch (err) {
        /* storage full or blocked: the conversation still works, it just won't survive reload */
      }
    }

    // ---------------------------------------------------------------- the DOM

    var host = el("div", { id: "nec-chat-widget" });
    var shadow = host.attachShadow({ mode: "open" });
    shadow.appendChild(el("link", { rel: "stylesheet", href: BASE + "chat-widget.css" }));

    var launcher = el(
      "button",
      {
        type: "button",
        className: "nc-launcher",
        "aria-expanded": "false",
        "aria-controls": "nc-panel",
      },
      [el("span", { className: "nc-launcher-icon", "aria-hidden": "true", text: "?" }), L.launcher]
    );
    var restartButton = el("button", { type: "button", className: "nc-restart", text: L.startOver });
    var closeButton = el("button", { type: "button", className: "nc-close", "aria-label": L.closeChat }, [
      el("span", { "aria-hidden": "true", text: "\u00d7" }),
    ]);
    var statusRegion = el("div", { className: "nc-visually-hidden", role: "status", "aria-live": "polite" });
    var log = el("div", {
      className: "nc-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": L.conversation,
      tabindex: "0",
    });
    var typing = el("div", { className: "nc-typing", hidden: true }, [
      el("span", { className: "nc-dot", "aria-hidden": "true" }),
      el("span", { className: "nc-dot", "aria-hidden": "true" }),
      el("span", { className: "nc-dot", "aria-hidden": "true" }),
      hiddenText(L.typing),
    ]);
    var input = el("textarea", {
      id: "nc-input",
      className: "nc-input",
      rows: "2",
      placeholder: L.placeholder,
      autocomplete: "off",
      "aria-describedby": "nc-input-hint",
    });
    var sendButton = el("button", { type: "submit", className: "nc-send", text: L.send });
    var form = el("form", { className: "nc-composer", "aria-label": L.sendForm }, [
      el("label", { for: "nc-input", className: "nc-visually-hidden", text: L.questionLabel }),
      input,
      el("span", { id: "nc-input-hint", className: "nc-visually-hidden", text: L.inputHint }),
      sendButton,
    ]);
    var disclaimer = el("p", { id: "nc-disclaimer", className: "nc-disclaimer", hidden: true });
    // "Delete my conversation", with a confirm step (the server deletes it: forget_request).
    var deleteButton = el("button", { type: "button", className: "nc-delete", text: L.deleteConversation });
    var deleteQuestion = el("p", { id: "nc-delete-question", className: "nc-delete-question", text: L.deleteQuestion });
    var deleteConfirm = el("button", { type: "button", className: "nc-delete-confirm", text: L.deleteConfirm });
    var deleteCancel = el("button", { type: "button", className: "nc-delete-cancel", text: L.deleteCancel });
    var confirmBox = el(
      "div",
      { className: "nc-confirm", role: "group", "aria-labelledby": "nc-delete-question", hidden: true },
      [deleteQuestion, el("div", { className: "nc-confirm-actions" }, [deleteConfirm, deleteCancel])]
    );
    var footer = el("div", { className: "nc-footer" }, [deleteButton, confirmBox]);
    var panel = el(
      "section",
      { id: "nc-panel", className: "nc-panel", role: "dialog", "aria-labelledby": "nc-title", "aria-describedby": "nc-disclaimer", hidden: true },
      [
        el("header", { className: "nc-header" }, [
          el("h2", { id: "nc-title", className: "nc-title", text: L.title }),
          restartButton,
          closeButton,
        ]),
        disclaimer,
        log,
        typing,
        form,
        footer,
        statusRegion,
      ]
    );
    var root = el("div", { className: "nc-root nc-" + config.position }, [panel, launcher]);
    shadow.appendChild(root);
    launcher.setAttribute("aria-label", L.launcherAria);

    function mount() {
      document.head.appendChild(
        el("link", { rel: "stylesheet", href: BASE + "chat-widget-print.css", media: "print" })
      );
      document.body.appendChild(host);
      var probe = root.appendChild(el("span", { "aria-hidden": "true", hidden: true }));
      applyColours(host, probe);
      root.removeChild(probe);
      scrollToEnd();
    }

    // ---------------------------------------------------------------- rendering messages

    var buttonGroups = {}; // item.n -> its group of quick-reply buttons in the log

    function scrollToEnd() {
      log.scrollTop = log.scrollHeight;
    }

    function renderItem(item, isLatestTurn) {
      var node;
      if (item.t === "user" || item.t === "bot") {
        node = el("div", { className: "nc-msg nc-" + item.t }, [
          hiddenText(item.t === "user" ? L.youSaid : L.assistantSaid),
        ]);
        node.appendChild(item.t === "user" ? plainText(item.text) : formatText(item.text));
      } else if (item.t === "sources") {
        node = renderSources(item);
      } else if (item.t === "buttons") {
        node = renderButtons(item, isLatestTurn);
        var owner = log.lastElementChild;
        if (item.answer && owner && owner.classList.contains("nc-bot")) {
          owner.appendChild(node); // compact, inside the disclaimer bubble it belongs to
          return node;
        }
      } else if (item.t === "listtools") {
        node = renderListTools(item);
      } else if (item.t === "note") {
        node = el("div", { className: "nc-note", text: item.text });
      }
      if (node) {
        log.appendChild(node);
      }
      return node;
    }

    function renderSources(item) {
      var list = el("ul");
      item.sources.forEach(function (source) {
        var label = source.title || source.publisher || L.source;
        var href = source.url ? safeUrl(source.url) : null;
        var li = el("li", null, [href ? makeLink(href, label) : el("span", { text: label })]);
        if (source.publisher && source.title) {
          li.appendChild(el("span", { className: "nc-publisher", text: " \u2014 " + source.publisher }));
        }
        list.appendChild(li);
      });
      return el("div", { className: "nc-sources", role: "group", "aria-label": L.sources }, [
        el("p", { className: "nc-sources-title", text: L.sources }),
        list,
      ]);
    }

    function renderButtons(item, enabled) {
      var group = el("div", {
        className: "nc-quick-replies" + (item.answer ? " nc-answer-actions" : ""),
        role: "group",
        "aria-label": item.answer ? L.feedback : L.suggestedReplies,
      });
      item.buttons.forEach(function (button, index) {
        var chosen = item.chosen === index;
        var vote = isFeedback(button);
        var b = el("button", {
          type: "button",
          className: "nc-quick-reply" + (vote ? " nc-feedback" : "") + (chosen ? " nc-chosen" : ""),
          disabled: !enabled || item.used,
          "aria-pressed": chosen ? "true" : vote ? "false" : null,
          // "👍 Helpful" is read as "Helpful": the emoji is only decoration
          "aria-label": vote ? words(button.title) : null,
          text: vote ? null : button.title,
          on: {
            click: function () {
              chooseButton(item, index);
            },
          },
        });
        if (vote) {
          var icon = button.title.slice(0, button.title.length - words(button.title).length);
          b.appendChild(el("span", { "aria-hidden": "true", text: icon }));
          b.appendChild(el("span", { text: words(button.title) }));
        }
        group.appendChild(b);
      });
      buttonGroups[item.n] = group;
      return group;
    }

    function disableAllButtons() {
      state.items.forEach(function (item) {
        if (item.t === "buttons" && !item.used) {
          item.used = true;
        }
      });
      Array.prototype.forEach.call(log.querySelectorAll(".nc-quick-reply"), function (b) {
        b.disabled = true;
      });
    }

    function addItem(item) {
      state.seq += 1;
      item.n = state.seq;
      if (item.t !== "note") {
        // connection notes are about this page view only: not stored
        state.items.push(item);
        saveState();
      }
      renderItem(item, true);
      scrollToEnd();
    }

    function renderHistory() {
      log.setAttribute("aria-busy", "true");
      while (log.firstChild) {
        log.removeChild(log.firstChild);
      }
      buttonGroups = {};
      var lastUser = -1;
      state.items.forEach(function (item, i) {
        if (item.t === "user") {
          lastUser = i;
        }
      });
      try {
        state.items.forEach(function (item, i) {
          renderItem(item, i > lastUser);
        });
      } catch (err) {
        // stored history from an older or broken version: start afresh rather than break
        state = freshState(state.intro);
        saveState();
        renderHistory();
        return;
      }
      greetIfEmpty();
      log.removeAttribute("aria-busy");
      scrollToEnd();
    }

    // ---------------------------------------------------------------- greeting, disclaimer

    /** The server's greeting opens an empty conversation (it is stored with it). */
    function greetIfEmpty() {
      if (!state.items.length && state.intro) {
        addItem({ t: "bot", text: state.intro.greeting, greeting: true });
      }
    }

    function showDisclaimer() {
      disclaimer.textContent = state.intro ? state.intro.disclaimer : "";
      disclaimer.hidden = !state.intro;
    }

    /** The server's "intro" event: utter_greet and utter_disclaimer from the domain. */
    function onIntro(intro) {
      if (!validIntro(intro)) {
        return;
      }
      state.intro = { greeting: intro.greeting, disclaimer: intro.disclaimer };
      showDisclaimer();
      saveState();
      greetIfEmpty();
    }

    /** Empties the log and the stored conversation; the note (if any) comes first. */
    function resetConversation(note) {
      state = freshState(state.intro);
      state.open = !panel.hidden;
      outbox = [];
      hideTyping();
      saveState();
      while (log.firstChild) {
        log.removeChild(log.firstChild);
      }
      buttonGroups = {};
      if (note) {
        addItem({ t: "note", text: note });
      }
      greetIfEmpty();
    }

    function announce(text) {
      statusRegion.textContent = "";
      window.setTimeout(function () {
        statusRegion.textContent = text;
      }, 50);
    }

    // ---------------------------------------------------------------- typing indicator

    var typingTimer = null;

    function showTyping(ms) {
      typing.hidden = false;
      scrollToEnd();
      window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(hideTyping, ms);
    }

    function hideTyping() {
      window.clearTimeout(typingTimer);
      typing.hidden = true;
    }

    // ---------------------------------------------------------------- connection

    var socket = null;
    var connecting = false;
    var confirmed = false;
    var everConnected = false;
    var droppedNotice = false;
    var outbox = [];

    function connect() {
      if (socket || connecting) {
        return;
      }
      connecting = true;
      import(config.clientUrl)
        .then(function (mod) {
          var io = mod.io || mod.default;
          socket = io(config.serverUrl, { path: config.socketPath, reconnectionDelayMax: 5000 });
          socket.on("connect", function () {
            confirmed = false;
            // After a drop the server answers with its "connection restored" notice.
            socket.emit("session_request", { session_id: state.sessionId, reconnected: droppedNotice });
          });
          socket.on("session_confirm", function (sessionId) {
            if (typeof sessionId !== "string" || !SESSION_ID_PATTERN.test(sessionId)) {
              return; // not a session this server issued
            }
            if (sessionId !== state.sessionId) {
              state.sessionId = sessionId;
              saveState();
            }
            confirmed = true;
            root.classList.remove("nc-offline");
            droppedNotice = false;
            everConnected = true;
            flushForget();
            flushOutbox();
          });
          socket.on("intro", onIntro);
          socket.on("conversation_forgotten", onForgotten);
          socket.on("bot_uttered", onBotMessage);
          socket.on("bot_turn_end", hideTyping);
          socket.on("disconnect", function (reason) {
            confirmed = false;
            root.classList.add("nc-offline");
            if (reason !== "io client disconnect" && !droppedNotice) {
              droppedNotice = true;
              hideTyping();
              addItem({ t: "note", text: L.connectionLost });
            }
          });
          socket.on("connect_error", function () {
            root.classList.add("nc-offline");
            if (!droppedNotice) {
              droppedNotice = true;
              hideTyping();
              addItem({
                t: "note",
                text: everConnected
                  ? L.connectionLost
                  : L.cannotReach,
              });
            }
          });
        })
        .catch(function () {
          connecting = false;
          addItem({ t: "note", text: L.cannotStart });
        });
    }

    function flushOutbox() {
      while (confirmed && outbox.length) {
        socket.emit("user_uttered", { message: outbox.shift(), session_id: state.sessionId });
      }
    }

    function send(payload, shownText) {
      disableAllButtons();
      addItem({ t: "user", text: shownText });
      outbox.push(payload);
      showTyping(TYPING_FALLBACK_MS);
      connect();
      flushOutbox();
    }

    function onBotMessage(message) {
      if (!message || typeof message !== "object") {
        return;
      }
      var text = typeof message.text === "string" ? message.text : "";
      if (message.notice === true) {
        if (text.trim()) {
          addItem({ t: "note", text: text });
        }
        return;
      }
      if (text.trim()) {
        addItem({ t: "bot", text: text });
      }
      var rawButtons = message.quick_replies || message.buttons;
      if (Array.isArray(rawButtons) && rawButtons.length) {
        var buttons = rawButtons
          .filter(function (b) {
            return b && typeof b.title === "string" && typeof b.payload === "string";
          })
          .map(function (b) {
            return { title: b.title, payload: b.payload };
          });
        if (buttons.length) {
          addItem({ t: "buttons", buttons: buttons, used: false, answer: buttons.some(isFeedback) });
        }
      }
      var custom = message.custom;
      var saved = custom && typeof custom === "object" ? custom.saved_questions : null;
      if (saved && Array.isArray(saved.questions)) {
        // The list message came just before: Copy and Print take its text as shown.
        var listText = "";
        state.items.forEach(function (item) {
          if (item.t === "bot") {
            listText = item.text;
          }
        });
        addItem({ t: "listtools", text: listText });
      }
      var answer = custom && typeof custom === "object" ? custom.kb_answer : null;
      if (answer && Array.isArray(answer.sources) && answer.sources.length) {
        addItem({
          t: "sources",
          id: String(answer.id || ""),
          sources: answer.sources
            .filter(function (s) {
              return s && typeof s === "object";
            })
            .map(function (s) {
              return {
                title: typeof s.title === "string" ? s.title : "",
                publisher: typeof s.publisher === "string" ? s.publisher : "",
                url: typeof s.url === "string" ? s.url : "",
              };
            }),
        });
      }
      if (message.attachment && message.attachment.payload && message.attachment.payload.src) {
        var src = safeUrl(message.attachment.payload.src);
        if (src) {
          addItem({ t: "bot", text: src });
        }
      }
      if (!typing.hidden) {
        showTyping(AFTER_MESSAGE_MS);
      }
    }

    // ---------------------------------------------------------------- answer feedback, question list

    function isFeedback(button) {
      return String(button.payload).indexOf("/feedback{") === 0;
    }

    /** The title without its leading emoji: what a screen reader should say. */
    function words(title) {
      return title.replace(/^[^\p{L}\p{N}]+/u, "") || title;
    }

    function renderListTools(item) {
      var copy = el("button", {
        type: "button",
        className: "nc-tool",
        text: L.copy,
        on: {
          click: function () {
            copyText(item.text);
          },
        },
      });
      var print = el("button", {
        type: "button",
        className: "nc-tool",
        text: L.print,
        on: {
          click: function () {
            printText(item.text);
          },
        },
      });
      return el("div", { className: "nc-list-tools", role: "group", "aria-label": L.listTools }, [
        copy,
        print,
      ]);
    }

    function copyText(text) {
      function fallback() {
        var area = el("textarea", { className: "nc-visually-hidden", "aria-hidden": "true" });
        area.value = text;
        root.appendChild(area);
        area.select();
        try {
          document.execCommand("copy");
          announce(L.copied);
        } catch (err) {
          /* nothing more we can do: the list is still on screen to select by hand */
        }
        root.removeChild(area);
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () {
          announce(L.copied);
        }, fallback);
      } else {
        fallback();
      }
    }

    /** Prints only the list: chat-widget-print.css hides the page while html has nec-chat-printing. */
    function printText(text) {
      var view = el(
        "div",
        { id: "nec-chat-print", hidden: true },
        text.split("\n").map(function (line) {
          return el("p", { text: line });
        })
      );
      var html = document.documentElement;
      function cleanup() {
        window.removeEventListener("afterprint", cleanup);
        html.classList.remove("nec-chat-printing");
        if (view.parentNode) {
          view.parentNode.removeChild(view);
        }
      }
      document.body.appendChild(view);
      html.classList.add("nec-chat-printing");
      window.addEventListener("afterprint", cleanup);
      window.print();
      window.setTimeout(cleanup, 0); // print() blocks in most browsers; afterprint in the rest
    }

    function chooseButton(item, index) {
      if (item.used) {
        return;
      }
      var button = item.buttons[index];
      item.chosen = index;
      var node = buttonGroups[item.n];
      send(button.payload, button.title);
      if (node && node.children[index]) {
        node.children[index].classList.add("nc-chosen");
        node.children[index].setAttribute("aria-pressed", "true");
      }
      saveState();
      input.focus();
    }

    // ---------------------------------------------------------------- delete my conversation

    var forgetPending = false;

    function askDelete() {
      deleteButton.hidden = true;
      confirmBox.hidden = false;
      scrollToEnd(); // the question takes room from the log
      deleteCancel.focus(); // keeping it is the safe default
    }

    function cancelDelete() {
      confirmBox.hidden = true;
      deleteButton.hidden = false;
      deleteButton.focus();
    }

    function confirmDelete() {
      confirmBox.hidden = true;
      deleteButton.hidden = false;
      deleteButton.disabled = true;
      deleteButton.focus();
      announce(L.deleting);
      forgetPending = true;
      connect();
      flushForget();
    }

    function flushForget() {
      if (forgetPending && confirmed) {
        forgetPending = false;
        socket.emit("forget_request", { session_id: state.sessionId });
      }
    }

    /** The server's answer: deleted (a new session follows) or not (history is kept). */
    function onForgotten(answer) {
      deleteButton.disabled = false;
      if (!answer || typeof answer !== "object") {
        return;
      }
      var text = typeof answer.text === "string" ? answer.text : "";
      if (answer.forgotten === true) {
        confirmed = false; // the server confirms the new session next
        resetConversation(text);
      } else if (text) {
        addItem({ t: "note", text: text });
      }
      if (text) {
        announce(text);
      }
    }

    // ---------------------------------------------------------------- open / close / restart

    function openPanel(focusInput) {
      panel.hidden = false;
      root.classList.add("nc-open");
      launcher.setAttribute("aria-expanded", "true");
      state.open = true;
      saveState();
      scrollToEnd();
      connect();
      if (focusInput) {
        input.focus();
      }
    }

    function closePanel() {
      panel.hidden = true;
      root.classList.remove("nc-open");
      launcher.setAttribute("aria-expanded", "false");
      state.open = false;
      saveState();
      launcher.focus();
    }

    function startOver() {
      resetConversation(null);
      if (socket && socket.connected) {
        confirmed = false;
        socket.emit("session_request", { session_id: state.sessionId });
      }
      announce(L.startedOver);
      input.value = "";
      input.focus();
    }

    launcher.addEventListener("click", function () {
      if (panel.hidden) {
        openPanel(true);
      } else {
        closePanel();
      }
    });
    closeButton.addEventListener("click", closePanel);
    restartButton.addEventListener("click", startOver);
    deleteButton.addEventListener("click", askDelete);
    deleteCancel.addEventListener("click", cancelDelete);
    deleteConfirm.addEventListener("click", confirmDelete);
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !confirmBox.hidden) {
        event.preventDefault(); // Escape first closes the question, then the chat
        cancelDelete();
      } else if (event.key === "Escape" && !panel.hidden) {
        event.preventDefault();
        closePanel();
      }
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) {
        input.focus();
        return;
      }
      input.value = "";
      send(text, text);
      input.focus();
    });

    // Restore the conversation (and the open panel) from this tab's sessionStorage.
    showDisclaimer();
    renderHistory();
    if (document.body) {
      mount();
    } else {
      document.addEventListener("DOMContentLoaded", mount);
    }
    if (state.open) {
      openPanel(false);
    }

    // A small hook for the forum's own scripts and for tests.
    window.necChat = {
      open: function () {
        openPanel(true);
      },
      close: closePanel,
      startOver: startOver,
      sessionId: function () {
        return state.sessionId;
      },
    };
  }
})();
