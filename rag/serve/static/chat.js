/* The chat page's script (rag.serve.chat.PAGE_JS, passed to launch(head=...)):
   behaviour Gradio 6.31 lacks, each part saying what was missing.
   1. [n] links: the chat's sources block is a Gradio "thought" accordion whose
      content is not in the page while it is collapsed; a click on [n] opens
      it first, then scrolls to the highlighted span and flashes it.
   2. Copy: Gradio's copy button copies a message's raw content, which is
      HTML here, with no hook for a plain-text form; the page turns our HTML
      into the plain text it carries (the answer, then its sources as
      `ragqa ask` prints them) before it reaches the clipboard.
   3. Backend picker: gr.Radio has no disabled choices; choices named in
      #backend-reasons are disabled, with the reason as their tooltip.
   4. Scrolling to each new answer: gr.Chatbot's autoscroll follows the
      bottom of the chat, and stops following after a jump taller than
      100 px; with a sources block under every answer the bottom is the last
      source card, and on a phone the answer itself goes out of view. The
      chat scrolls the newest question to its top instead (autoscroll=False)
      while the reader follows, and shows "Jump to latest" when the reader
      has scrolled up (Gradio's "Scroll down" button goes to the bottom: hidden).
   5. The article reader: gr.HTML has no "scroll to" for its content; when
      it shows an article, its box scrolls (the page does not) to the span
      marked rq-focus (rag.serve.render.render_article) and flashes it.
   6. Character counter: gr.Textbox has none (max_length cuts pasted text
      off silently); a live count of the question against the limit
      (data-limit of #question-count) sits under the box.
   7. Accessible names: gr.Chatbot writes each message's raw content, here
      HTML, into its aria-label; the label is replaced by the plain text.
   8. Dark mode: Gradio switches it only from ?__theme=dark in the address;
      the #theme-toggle button switches the `dark` class of the page's body,
      and the choice is kept in localStorage ("ragqa-theme").
   9. Editing: gr.Chatbot(editable="user") offers to edit every question;
      only the last one can be edited here, so the others' edit buttons are
      hidden.
  10. The sidebar on a phone: gr.Sidebar(open=True) opens on every screen,
      and on one 768 px wide or narrower it covers the whole page; there it
      starts closed, and closes again when a conversation is picked. */
(() => {
  const flash = (m) => {
    m.classList.add("rq-flash");
    setTimeout(() => m.classList.remove("rq-flash"), 2000);
  };

  // 1. [n] links
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest ? ev.target.closest("a.rq-cite") : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    follow = false;
    const cls = (a.getAttribute("href") || "").slice(1);
    const find = () => document.querySelector("mark." + CSS.escape(cls));
    const show = (m) => { m.scrollIntoView({block: "center"}); flash(m); };
    let m = find();
    if (m) { show(m); return; }
    let box = a.parentElement;
    while (box && !box.querySelector("[role=button].title")) box = box.parentElement;
    const title = box ? box.querySelector("[role=button].title") : null;
    if (!title) return;
    title.click();
    let tries = 0;
    const wait = () => { m = find(); if (m) show(m); else if (tries++ < 40) setTimeout(wait, 25); };
    setTimeout(wait, 0);
  }, true);

  // 2. Copy as plain text
  const plain = (text) => {
    if (typeof text !== "string" || text.indexOf("rq-") < 0) return text;
    const doc = new DOMParser().parseFromString("<body>" + text + "</body>", "text/html");
    doc.querySelectorAll(".rq-nocopy").forEach((e) => e.remove());
    doc.querySelectorAll("div").forEach((e) => e.after("\n"));
    return doc.body.textContent.replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    const write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => write(plain(text));
  }

  // 3. Disabled backends
  const markBackends = () => {
    const reasons = document.querySelectorAll("#backend-reasons [data-label]");
    if (!reasons.length) return;
    document.querySelectorAll("#backend label").forEach((label) => {
      const r = Array.from(reasons).find((s) => label.textContent.trim() === s.dataset.label);
      const input = label.querySelector("input");
      if (!r || !input || input.disabled) return;
      input.disabled = true;
      label.title = r.textContent;
      label.classList.add("rq-disabled");
    });
  };

  // 4. Scrolling to each new answer, and "Jump to latest"
  let follow = true;       // the reader follows the newest question (false once they scroll the chat)
  let seenKey = "";        // which question was the newest at the last look
  const scroller = () => document.querySelector("#chat .bubble-wrap");
  const latestQuestion = (wrap) => {
    const rows = wrap.querySelectorAll(".message-row.user-row");
    return rows.length ? rows[rows.length - 1] : null;
  };
  const toQuestion = (wrap, row) => {
    // 40 px below the top: clear of the chat's own buttons (trash, copy) in its top right corner
    const top = row.getBoundingClientRect().top - wrap.getBoundingClientRect().top + wrap.scrollTop - 40;
    const target = Math.max(0, Math.min(top, wrap.scrollHeight - wrap.clientHeight));
    if (Math.abs(wrap.scrollTop - target) > 2) wrap.scrollTop = target;
  };
  const jumpButton = () => {
    const chat = document.querySelector("#chat");
    if (!chat) return null;
    let b = chat.querySelector(":scope > button.rq-jump");
    if (!b) {
      b = document.createElement("button");
      b.type = "button";
      b.className = "rq-jump";
      b.id = "jump-latest";
      b.textContent = "Jump to latest ↓";
      b.hidden = true;
      b.addEventListener("click", () => {
        const wrap = scroller();
        const row = wrap && latestQuestion(wrap);
        follow = true;
        if (row) toQuestion(wrap, row);
        updateJump();
      });
      chat.appendChild(b);
    }
    return b;
  };
  const updateJump = () => {
    const wrap = scroller();
    const b = jumpButton();
    if (!wrap || !b) return;
    const row = latestQuestion(wrap);
    const below = row && row.getBoundingClientRect().top > wrap.getBoundingClientRect().bottom - 40;
    b.hidden = !below;
  };
  const chatScroll = () => {
    const wrap = scroller();
    if (!wrap) return;
    if (!wrap.dataset.rqWatched) {
      wrap.dataset.rqWatched = "1";
      const away = () => { follow = false; };
      wrap.addEventListener("wheel", away, {passive: true});
      wrap.addEventListener("touchmove", away, {passive: true});
      wrap.addEventListener("keydown", away);
      wrap.addEventListener("pointerdown", away);  // its scroll bar, a sources block opened (retry/edit: see below)
      wrap.addEventListener("scroll", updateJump, {passive: true});
    }
    const row = latestQuestion(wrap);
    const key = row ? wrap.querySelectorAll(".message-row.user-row").length + ":" + row.textContent : "";
    if (key !== seenKey) { seenKey = key; follow = true; }
    if (follow && row) toQuestion(wrap, row);
    updateJump();
  };
  // asking (Ask, Enter, an example, retry, edit) follows the answer again
  const asks = (t) => t.closest && t.closest("#ask, #examples, #chat button[aria-label='Retry'], #chat button[aria-label='Submit']");
  document.addEventListener("click", (ev) => { if (asks(ev.target)) follow = true; }, true);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && ev.target.closest && ev.target.closest("#question")) follow = true;
  }, true);

  // 5. The article reader
  const focusReader = () => {
    const m = document.querySelector("#reader mark.rq-focus");
    if (!m || m.dataset.rqShown) return;
    m.dataset.rqShown = "1";
    let box = m.parentElement;
    while (box && box.id !== "reader" && !(box.scrollHeight > box.clientHeight + 1 &&
           /(auto|scroll)/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
    if (box && box.scrollHeight > box.clientHeight + 1) {
      const top = m.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
    flash(m);
  };

  // 6. Character counter
  const count = () => {
    const ta = document.querySelector("#question textarea");
    const out = document.querySelector("#question-count .rq-count");
    if (!ta || !out) return;
    const limit = parseInt(out.dataset.limit, 10) || 2000;
    const n = Array.from(ta.value.replace(/\s+/g, " ").trim()).length;
    const fmt = (x) => x.toLocaleString("en-US");
    out.textContent = n > limit ? `${fmt(n)} / ${fmt(limit)} characters: ${fmt(n - limit)} too many`
                                : `${fmt(n)} / ${fmt(limit)} characters`;
    out.classList.toggle("rq-over", n > limit);
  };
  const watchBox = () => {
    const ta = document.querySelector("#question textarea");
    if (!ta || ta.dataset.rqCounted) return;
    ta.dataset.rqCounted = "1";
    ta.setAttribute("aria-describedby", "question-count");
    ta.addEventListener("input", count);
    // Gradio sets the box's value from the server (an example, a cleared or restored box) without an input event.
    const own = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value");
    Object.defineProperty(ta, "value", {
      configurable: true,
      get() { return own.get.call(this); },
      set(v) { own.set.call(this, v); count(); },
    });
    count();
  };

  // 7. Plain-text accessible names
  const plainLabel = (label) => {
    const cut = label.indexOf(": ");
    const head = cut >= 0 ? label.slice(0, cut + 2) : "";
    const doc = new DOMParser().parseFromString("<body>" + label.slice(head.length) + "</body>", "text/html");
    doc.querySelectorAll(".rq-plain").forEach((e) => e.remove());
    doc.querySelectorAll("div").forEach((e) => e.after(" "));
    let text = doc.body.textContent.replace(/\s+/g, " ").trim();
    if (text.length > 400) text = text.slice(0, 399) + "…";
    return head + text;
  };
  const plainLabels = () => {
    document.querySelectorAll("#chat [aria-label]").forEach((el) => {
      const label = el.getAttribute("aria-label");
      if (label === el.dataset.rqAria || !/[<&]/.test(label)) return;
      const text = plainLabel(label);
      el.dataset.rqAria = text;
      el.setAttribute("aria-label", text);
    });
  };

  // 8. Dark mode
  const THEME_KEY = "ragqa-theme";
  const stored = () => { try { return localStorage.getItem(THEME_KEY); } catch (e) { return null; } };
  const themeButton = () => {
    const b = document.querySelector("#theme-toggle");
    if (!b) return;
    const dark = document.body.classList.contains("dark");
    const text = dark ? "☀ Light mode" : "☾ Dark mode";
    if (b.textContent.trim() !== text) b.textContent = text;
    b.setAttribute("aria-pressed", dark ? "true" : "false");
  };
  const applyTheme = () => {
    const mode = stored();
    if (document.body && (mode === "dark" || mode === "light") &&
        document.body.classList.contains("dark") !== (mode === "dark")) {
      document.body.classList.toggle("dark", mode === "dark");
    }
    themeButton();
  };
  window.ragqaToggleTheme = () => {
    const dark = !document.body.classList.contains("dark");
    try { localStorage.setItem(THEME_KEY, dark ? "dark" : "light"); } catch (e) { /* private mode: this page only */ }
    document.body.classList.toggle("dark", dark);
    themeButton();
  };

  // 9. Only the last question can be edited
  const lastEditable = () => {
    const rows = document.querySelectorAll("#chat .message-row.user-row");
    rows.forEach((row, i) => row.classList.toggle("rq-earlier", i < rows.length - 1));
  };

  // 10. The sidebar on a phone
  const narrow = () => window.matchMedia("(max-width: 768px)").matches;
  const closeSidebar = () => {
    const toggle = document.querySelector(".sidebar.open button[aria-label='Toggle Sidebar']");
    if (toggle) toggle.click();
  };
  let sidebarChecked = false;
  const sidebarOnPhone = () => {
    if (sidebarChecked || !document.querySelector(".sidebar button[aria-label='Toggle Sidebar']")) return;
    sidebarChecked = true;
    if (narrow()) closeSidebar();
  };
  document.addEventListener("change", (ev) => {
    if (narrow() && ev.target.closest && ev.target.closest("#conversations")) setTimeout(closeSidebar, 150);
  }, true);

  let queued = false;
  const refresh = () => {
    queued = false;
    markBackends();
    watchBox();
    plainLabels();
    lastEditable();
    chatScroll();
    focusReader();
    themeButton();
    sidebarOnPhone();
  };
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(refresh); } };
  const start = () => {
    applyTheme();
    new MutationObserver(later).observe(document.body, {childList: true, subtree: true, characterData: true,
                                                        attributes: true, attributeFilter: ["aria-label"]});
    // Gradio sets the body's `dark` class from the system or the address when it starts: the reader's choice wins.
    new MutationObserver(applyTheme).observe(document.body, {attributes: true, attributeFilter: ["class"]});
    later();
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
