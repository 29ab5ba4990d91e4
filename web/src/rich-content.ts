/**
 * What the server's message HTML becomes in the page: spoilers (`<span class="spoiler">`)
 * turn into controls that hide their text until activated, tone indicators
 * (`<abbr class="tone" title="joking">/j</abbr>`) show their meaning on hover, focus or tap and
 * have it in their accessible name, and code blocks with a language are highlighted
 * (highlight.ts, loaded on the first such block).
 *
 * Messages are rendered from sanitised HTML in many places (timeline, threads, pins, edit
 * history), so one observer of the page does it wherever a `.content` appears, and one
 * listener on the document reveals spoilers. Preact leaves the nodes alone until a message's
 * HTML changes, and then the new nodes are seen again.
 */

const spoilerSelector = ".content span.spoiler:not([data-spoiler])";
const toneSelector = ".content abbr.tone[title]:not([data-tone])";
const codeSelector = ".content pre > code[class*='language-']:not([data-highlight])";

let highlighter: Promise<typeof import("./highlight.ts")> | undefined;

/** Makes a hidden spoiler a button-like control with an accessible name. */
function setUpSpoiler(spoiler: HTMLElement): void {
  spoiler.dataset.spoiler = "hidden";
  spoiler.setAttribute("role", "button");
  spoiler.tabIndex = 0;
  spoiler.setAttribute("aria-label", "Spoiler, hidden: activate to show");
  spoiler.title = "Show spoiler";
}

/** Shows a spoiler's text, for good: it becomes plain text again (and keeps the focus). */
function reveal(spoiler: HTMLElement): void {
  spoiler.dataset.spoiler = "shown";
  spoiler.removeAttribute("role");
  spoiler.removeAttribute("aria-label");
  spoiler.removeAttribute("title");
  spoiler.tabIndex = -1;
}

/**
 * Makes a tone indicator a control that shows its meaning (in a bubble drawn by CSS from
 * `data-meaning`) on hover, keyboard focus or a tap, which phones need as they have no hover.
 * The meaning moves from `title` into the accessible name, so that it is read once, with the
 * indicator as written ("/j: joking").
 */
function setUpTone(tone: HTMLElement): void {
  const meaning = tone.title;
  tone.dataset.tone = "closed";
  tone.dataset.meaning = meaning;
  tone.removeAttribute("title");
  tone.setAttribute("role", "button");
  tone.setAttribute("aria-label", `${tone.textContent ?? ""}: ${meaning}`);
  tone.setAttribute("aria-expanded", "false");
  tone.tabIndex = 0;
}

/** Shows one tone indicator's meaning (or none), hiding any other shown. */
function openTone(tone: HTMLElement | null): void {
  for (const open of document.querySelectorAll<HTMLElement>("abbr.tone[data-tone='open']")) {
    if (open === tone) continue;
    open.dataset.tone = "closed";
    open.setAttribute("aria-expanded", "false");
  }
  if (tone == null) return;
  const opening = tone.dataset.tone !== "open";
  tone.dataset.tone = opening ? "open" : "closed";
  tone.setAttribute("aria-expanded", String(opening));
}

function setUpCode(code: HTMLElement): void {
  code.dataset.highlight = "pending";
  highlighter ??= import("./highlight.ts");
  highlighter.then(
    ({ highlightCode }) => {
      code.dataset.highlight = highlightCode(code) ? "done" : "none";
    },
    () => {
      // The chunk did not load (offline after an update): plain code, and try again next time.
      code.dataset.highlight = "none";
      highlighter = undefined;
    },
  );
}

/** Sets up the spoilers and code blocks that are, or are under, an element. */
function enhance(root: Element): void {
  if (!(root instanceof HTMLElement)) return;
  if (root.matches(spoilerSelector)) setUpSpoiler(root);
  if (root.matches(codeSelector)) setUpCode(root);
  if (root.matches(toneSelector)) setUpTone(root);
  for (const el of root.querySelectorAll<HTMLElement>(spoilerSelector)) setUpSpoiler(el);
  for (const el of root.querySelectorAll<HTMLElement>(toneSelector)) setUpTone(el);
  for (const el of root.querySelectorAll<HTMLElement>(codeSelector)) setUpCode(el);
}

/** The hidden spoiler an event happened in, if any. */
function hiddenSpoiler(target: EventTarget | null): HTMLElement | null {
  return target instanceof Element ? target.closest<HTMLElement>("[data-spoiler='hidden']") : null;
}

/**
 * Starts watching the page for message content (once, at start-up).
 *
 * @param root The element under which messages appear.
 */
export function watchRichContent(root: HTMLElement = document.body): void {
  enhance(root);
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node instanceof Element) enhance(node);
      }
    }
  }).observe(root, { childList: true, subtree: true });
  document.addEventListener("click", (e) => {
    const tone = e.target instanceof Element ? e.target.closest<HTMLElement>("abbr.tone[data-tone]") : null;
    // A tap on an indicator shows its meaning; a tap anywhere else hides it. An indicator in a
    // hidden spoiler is not shown (the spoiler handles the tap).
    if (hiddenSpoiler(e.target) == null) openTone(tone);
    const spoiler = hiddenSpoiler(e.target);
    if (spoiler == null) return;
    // A click on a hidden spoiler shows it and does nothing else (not follow a link in it).
    e.preventDefault();
    e.stopPropagation();
    reveal(spoiler);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") openTone(null);
    const tone = e.target instanceof HTMLElement && e.target.matches("abbr.tone[data-tone]") ? e.target : null;
    if (tone != null && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      openTone(tone);
      return;
    }
    if (e.key !== "Enter" && e.key !== " ") return;
    const spoiler = hiddenSpoiler(e.target);
    if (spoiler == null || spoiler !== e.target) return;
    e.preventDefault();
    reveal(spoiler);
  });
}
