/**
 * Opens a person's card instead of their whole profile page when their name or avatar is
 * clicked in a timeline, a member list or a mention. This part is small and in the first
 * bundle; the card itself (user-card.tsx) loads on the first click.
 */

/** Where a click on a person's link opens the card rather than the page. */
const places = ".timeline, .thread-panel, .member-panel";

/** The handle a clicked element stands for, or null when it is no person's link of ours. */
export function cardHandle(target: Element): { handle: string; anchor: HTMLElement } | null {
  // An avatar (a pointer's shortcut: the name beside it is the keyboard's way to the same card).
  const avatar = target.closest<HTMLElement>("[data-user-card]");
  if (avatar?.dataset.userCard) {
    const name = avatar.closest(".message, .member")?.querySelector<HTMLElement>("a.author, a.member-name");
    return { handle: avatar.dataset.userCard, anchor: name ?? avatar };
  }
  const anchor = target.closest<HTMLAnchorElement>("a[href]");
  if (!anchor?.closest(places)) return null;
  if (anchor.classList.contains("mention")) {
    // The server writes a mention as `@handle` (with the host for other servers' users).
    const text = anchor.textContent?.trim() ?? "";
    return text.startsWith("@") && text.length > 1 ? { handle: text.slice(1), anchor } : null;
  }
  const url = new URL(anchor.href, location.href);
  const found = url.origin === location.origin ? /^\/users\/([^/]+)$/.exec(url.pathname) : null;
  if (!found?.[1]) return null;
  try {
    return { handle: decodeURIComponent(found[1]), anchor };
  } catch {
    return null;
  }
}

/** Listens for clicks on people's links; a modified click still opens the page (new tab etc.). */
export function installUserCards(): void {
  document.addEventListener(
    "click",
    (event) => {
      if (event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const found = event.target instanceof Element ? cardHandle(event.target) : null;
      if (!found) return;
      event.preventDefault();
      void import("./user-card.tsx").then(({ openUserCard }) => openUserCard(found.handle, found.anchor));
    },
    // Before the router's own handler, which would navigate to the page.
    true,
  );
}
