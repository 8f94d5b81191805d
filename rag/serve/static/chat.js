/* Custom behaviour Gradio lacks, as page JavaScript (launch(head=...)):
   1. [n] links: the chat's sources block is a Gradio "thought" accordion whose
      content is not in the page while it is collapsed; a click on [n] opens
      it first, then scrolls to the highlighted span and flashes it.
   2. Copy: Gradio's copy button copies a message's raw content, which is
      HTML here, with no hook for a plain-text form; the page turns our HTML
      into the plain text it carries (the answer, then its sources as
      `ragqa ask` prints them) before it reaches the clipboard.
   3. Backend picker: gr.Radio has no disabled choices; choices named in
      #backend-reasons are disabled, with the reason as their tooltip. */
(() => {
  const flash = (m) => {
    m.scrollIntoView({block: "center"});
    m.classList.add("rq-flash");
    setTimeout(() => m.classList.remove("rq-flash"), 2000);
  };
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest ? ev.target.closest("a.rq-cite") : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    const cls = (a.getAttribute("href") || "").slice(1);
    const find = () => document.querySelector("mark." + CSS.escape(cls));
    let m = find();
    if (m) { flash(m); return; }
    let box = a.parentElement;
    while (box && !box.querySelector("[role=button].title")) box = box.parentElement;
    const title = box ? box.querySelector("[role=button].title") : null;
    if (!title) return;
    title.click();
    let tries = 0;
    const wait = () => { m = find(); if (m) flash(m); else if (tries++ < 40) setTimeout(wait, 25); };
    setTimeout(wait, 0);
  }, true);

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
  new MutationObserver(markBackends).observe(document.documentElement, {childList: true, subtree: true});
})();
